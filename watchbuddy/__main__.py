from watchbuddy.cli import main

main()
