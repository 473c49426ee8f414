"""Streamlit entry point: `streamlit run app.py` (or `watchbuddy app`, or `make run`)."""

from watchbuddy.explorer.app import main

main()
