/*********************************************************************/
/* TSTSMTPRLY - Test SMTP Relay Decision                             */
/* qtsmtp's own: IBM i has no such command. WRKSMTPLE's F8, for       */
/* scripts and monitoring.                                           */
/*********************************************************************/
             CMD        PROMPT('Test SMTP Relay Decision') PGM('qtsmtp.programs.relaytest:tstsmtprly') +
                          MAXPOS(2) +
                          HELP('Asks the relay policy the server would use now, +
                          compiled from the stored attributes and lists by the +
                          server''s own code, what it would answer a client at +
                          CLIENT: at connect, at HELO and MAIL FROM when they are +
                          given, and at RCPT TO for each recipient; writes each +
                          answer and why to standard output. Nothing is sent and +
                          no server needs to run. Exit status 0 when the server +
                          would take the message for every recipient, 1 when it +
                          would refuse the connection or a recipient.')
             PARM       KWD(CLIENT) TYPE(*CHAR) LEN(47) MIN(1) +
                          PROMPT('Client address') +
                          HELP('The IPv4 or IPv6 address the client connects from, +
                          such as 10.1.1.7 or 2001:db8::5.')
             PARM       KWD(RCPT) TYPE(*CHAR) LEN(512) CASE(*MIXED) MIN(1) MAX(50) +
                          PROMPT('Recipient') +
                          HELP('The addresses given at RCPT TO, as the client would +
                          give them; a source route or a % hack is read as the +
                          server reads it.')
             PARM       KWD(SENDER) TYPE(*CHAR) LEN(512) CASE(*MIXED) +
                          SPCVAL((*NONE) (*NULL)) DFT(*NONE) PROMPT('Sender') +
                          HELP('The address given at MAIL FROM. *NULL: the null +
                          sender (MAIL FROM:<>), as a bounce gives it. *NONE: no +
                          MAIL FROM step is shown. The server never refuses a +
                          sender.')
             PARM       KWD(HELO) TYPE(*CHAR) LEN(255) CASE(*MIXED) +
                          SPCVAL((*NONE)) DFT(*NONE) PROMPT('HELO name') +
                          HELP('The name the client gives at HELO or EHLO. *NONE: no +
                          HELO step is shown. The server takes any name.')
