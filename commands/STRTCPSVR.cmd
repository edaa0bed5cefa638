/*********************************************************************/
/* STRTCPSVR - Start TCP/IP Server                                   */
/* qtsmtp serves *SMTP; *ALL and *AUTOSTART mean the SMTP server.    */
/* MODE and SVRJOBS are qtsmtp extensions (see strtcpsvr(1)).        */
/*********************************************************************/
             CMD        PROMPT('Start TCP/IP Server') PGM('qtsmtp.programs.tcpsvr:strtcpsvr') +
                          MAXPOS(1) +
                          HELP('Starts the SMTP server: job QTSMTPSRVD (the +
                          supervisor), the server jobs QTSMTPSRVP that accept +
                          sessions, and the client job QTSMTPCLTD, all in subsystem +
                          QSYSWRK. The port is CHGSMTPA PORT; the addresses are the +
                          *SVRBIND and *SVRBNDIP6 entries (none: every address). A +
                          list member that does not parse stops the start, naming +
                          the member and the record.')
             PARM       KWD(SERVER) TYPE(*CHAR) LEN(10) RSTD(*YES) +
                          VALUES(*SMTP) SNGVAL((*ALL) (*AUTOSTART)) MAX(300) +
                          DFT(*ALL) PROMPT('Server application') +
                          HELP('*SMTP: the SMTP server. *ALL: every server this +
                          system has, which is the SMTP server. *AUTOSTART: the +
                          SMTP server only when CHGSMTPA AUTOSTART(*YES).')
             PARM       KWD(MODE) TYPE(*CHAR) LEN(11) RSTD(*YES) +
                          VALUES(*BATCH *FOREGROUND) DFT(*BATCH) +
                          PROMPT('Run mode (qtsmtp extension)') +
                          HELP('*BATCH: the server runs as batch jobs that outlive the +
                          command, which returns once the server listens. +
                          *FOREGROUND: the command itself becomes QTSMTPSRVD and +
                          returns when the server ends (ENDTCPSVR, SIGTERM or +
                          Ctrl-C), for systemd services and tests.')
             PARM       KWD(SVRJOBS) TYPE(*INT2) RANGE(1 256) SPCVAL((*CPU)) +
                          DFT(*CPU) PROMPT('Server jobs (qtsmtp extension)') +
                          HELP('How many QTSMTPSRVP jobs share the port. *CPU: one +
                          per processor.')
