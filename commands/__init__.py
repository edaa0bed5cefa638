"""The CL command definitions, one IBM command-definition source file (*.cmd) per command.

This folder is installed as the data package ``qtsmtp.commands``; this file only lets
Python find it. The definitions are read by ``qtsmtp.cl.definition``.
"""
