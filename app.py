"""Streamlit entry point: `streamlit run app.py` (or `watchbuddy app`, or `make run`)."""

from watchbuddy.streamlit_app import main

main()
