/*********************************************************************/
/* MONMSG - Monitor Message (CL scripts only)                        */
/*********************************************************************/
             CMD        PROMPT('Monitor Message') MAXPOS(1) +
                          HELP('In a CL script run by qtsmtp run, lets the script go on +
                          when the command just before it ends with one of the +
                          escape messages named. A generic identifier names a +
                          family: CPF0000 every CPF message, TCP2600 every TCP26xx +
                          message. Placed before the first command, it applies to +
                          every command of the script.')
             PARM       KWD(MSGID) TYPE(*NAME) LEN(7) MIN(1) MAX(50) +
                          PROMPT('Message identifier') +
                          HELP('The message identifiers to monitor, such as TCP2650 or +
                          CPF0000.')
