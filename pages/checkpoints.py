"""Checkpoints: filled in by its own issue."""
import streamlit as st

st.title("Checkpoints")
st.info("This page is not built yet.")
