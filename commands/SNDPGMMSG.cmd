/*********************************************************************/
/* SNDPGMMSG - Send Program Message                                */
/* A statement of CL programs run by qtsmtp run (no PGM of its own). */
/*********************************************************************/
             CMD        PROMPT('Send Program Message') MAXPOS(1) +
                          HELP('Sends a message to the caller of the +
                          program: the person or script that ran it. +
                          An *ESCAPE message ends the program; give it +
                          MSGID, such as MSGID(CPF9898) +
                          MSGDTA(text).')
             PARM       KWD(MSG) TYPE(*CHAR) LEN(5000) CASE(*MIXED) CHOICE('Character value or expression') +
                          PROMPT('Message text') HELP('An immediate +
                          message: text without a message +
                          identifier.')
             PARM       KWD(MSGID) TYPE(*CHAR) LEN(7) CHOICE('Message identifier') +
                          PROMPT('Message identifier') HELP('A message +
                          of qtsmtp-messages(7); MSGDTA fills its +
                          first substitution variable.')
             PARM       KWD(MSGF) TYPE(MSGFQ) DFT(QCPFMSG) +
                          PROMPT('Message file') HELP('Accepted for +
                          IBM i sources; qtsmtp has one message +
                          catalogue.')
 MSGFQ:      QUAL       TYPE(*NAME) LEN(10) PROMPT('Message file')
             QUAL       TYPE(*NAME) LEN(10) SPCVAL((*LIBL)) DFT(*LIBL) PROMPT('Library')
             PARM       KWD(MSGDTA) TYPE(*CHAR) LEN(5000) CASE(*MIXED) CHOICE('Character value or expression') +
                          PROMPT('Message data field values') +
                          HELP('The substitution value of MSGID.')
             PARM       KWD(MSGTYPE) TYPE(*CHAR) LEN(7) RSTD(*YES) VALUES(*INFO *COMP *DIAG *ESCAPE) DFT(*INFO) +
                          PROMPT('Message type') HELP('*INFO, *COMP +
                          and *DIAG are reported and the program goes +
                          on; *ESCAPE ends the program.')
