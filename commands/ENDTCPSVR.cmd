/*********************************************************************/
/* ENDTCPSVR - End TCP/IP Server                                     */
/*********************************************************************/
             CMD        PROMPT('End TCP/IP Server') PGM('qtsmtp.programs.tcpsvr:endtcpsvr') +
                          MAXPOS(1) +
                          HELP('Ends the SMTP server jobs gracefully: they stop +
                          accepting connections, a session waiting for a command +
                          gets 421 at once, and a session in DATA may finish its +
                          message (up to 30 seconds) before its 421. The command +
                          returns when no server process is left.')
             PARM       KWD(SERVER) TYPE(*CHAR) LEN(10) RSTD(*YES) +
                          VALUES(*SMTP) SNGVAL((*ALL)) MAX(300) DFT(*ALL) +
                          PROMPT('Server application') +
                          HELP('*SMTP: the SMTP server. *ALL: every server, which is +
                          the SMTP server.')
