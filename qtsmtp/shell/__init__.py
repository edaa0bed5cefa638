"""The Unix shell's side of the commands: the option form through typer, and completion."""
