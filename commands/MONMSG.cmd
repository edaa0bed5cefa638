/*********************************************************************/
/* MONMSG - Monitor Message (CL scripts only)                        */
/*********************************************************************/
             CMD        PROMPT('Monitor Message') MAXPOS(3) +
                          HELP('In a CL script run by qtsmtp run, lets the script go on +
                          when the command just before it ends with one of the +
                          escape messages named, after running the command of +
                          EXEC if one is given. A generic identifier names a +
                          family: CPF0000 every CPF message, TCP2600 every TCP26xx +
                          message. Placed after the declarations, before the +
                          first command, it applies to every command of the +
                          script, and its EXEC may only be a GOTO.')
             PARM       KWD(MSGID) TYPE(*NAME) LEN(7) MIN(1) MAX(50) +
                          PROMPT('Message identifier') +
                          HELP('The message identifiers to monitor, such as TCP2650 or +
                          CPF0000.')
             PARM       KWD(CMPDTA) TYPE(*CHAR) LEN(28) CASE(*MIXED) DFT(*NONE) +
                          SPCVAL((*NONE)) PROMPT('Comparison data') +
                          HELP('Monitor the message only when its substitution +
                          values, one after the other, begin with this text.')
             PARM       KWD(EXEC) TYPE(*CMDSTR) LEN(5000) +
                          PROMPT('Command to execute') +
                          HELP('The command run when a monitored message arrives: +
                          DO for a group that ENDDO ends, GOTO, or any other +
                          command. Then the script goes on after the command +
                          that sent the message, unless the command was GOTO.')
