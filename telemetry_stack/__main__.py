from telemetry_stack.cli import main

main()
