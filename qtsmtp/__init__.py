"""qtsmtp: an SMTP relay for Linux, administered with IBM i CL commands."""
