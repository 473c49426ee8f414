"""The Streamlit explorer: one module per page (`page_*.py`, run by Streamlit as scripts),
the cached reads they share (`data`), and the URL form of the Explore filters
(`query_params`). The entry point that wires them together is `watchbuddy.explorer.app`."""
