"""Monitor: filled in by its own issue."""
import streamlit as st

st.title("Monitor")
st.info("This page is not built yet.")
