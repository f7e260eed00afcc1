"""Disk: filled in by its own issue."""
import streamlit as st

st.title("Disk")
st.info("This page is not built yet.")
