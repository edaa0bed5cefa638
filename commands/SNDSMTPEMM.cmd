/*********************************************************************/
/* SNDSMTPEMM - Send SMTP E-mail Message                             */
/* IBM i command definition source; read by qtsmtp.cl.definition.   */
/*********************************************************************/
             CMD        PROMPT('Send SMTP E-mail Message') PGM('qtsmtp.programs.sndsmtpemm:sndsmtpemm') +
                          MAXPOS(2) +
                          HELP('Builds a MIME message and puts it in the client +
                          submission queue. The sender is the address of the user +
                          running the command, as ADDUSRSMTP recorded it; it +
                          cannot be given. The command ends when the message is +
                          queued, not when it is delivered: the client job picks it +
                          up at once when the server runs, else qtsmtp runqueue +
                          does. Mail that cannot be delivered comes back to the +
                          sender as a delivery status notification.')
             PARM       KWD(RCP) TYPE(RCPE) MIN(1) MAX(20) PROMPT('Recipient') +
                          HELP('Up to 20 recipients, each an e-mail address and its +
                          type: *PRI (To:), *CC (Cc:) or *BCC (blind copy: in the +
                          envelope only, never in a header).')
 RCPE:       ELEM       TYPE(*CHAR) LEN(256) CASE(*MIXED) MIN(1) +
                          PROMPT('E-mail address')
             ELEM       TYPE(*CHAR) LEN(4) RSTD(*YES) VALUES(*PRI *CC *BCC) +
                          DFT(*PRI) PROMPT('Recipient type')
             PARM       KWD(SUBJECT) TYPE(*CHAR) LEN(256) CASE(*MIXED) MIN(1) +
                          PROMPT('Subject') +
                          HELP('The Subject: of the message; any Unicode text.')
             PARM       KWD(NOTE) TYPE(*CHAR) LEN(5000) CASE(*MIXED) +
                          SPCVAL((*NONE)) DFT(*NONE) PROMPT('Note') +
                          HELP('The body of the message. *NONE: no body text.')
             PARM       KWD(ATTACH) TYPE(ATTE) SNGVAL((*NONE)) MAX(20) +
                          DFT(*NONE) PROMPT('Attachment') +
                          HELP('Files to attach, each a path and a MIME content type. +
                          *DFT guesses the type from the file name, else +
                          application/octet-stream. The bytes of the file are sent +
                          unchanged (base64).')
 ATTE:       ELEM       TYPE(*PNAME) LEN(1024) CASE(*MIXED) MIN(1) +
                          PROMPT('File path')
             ELEM       TYPE(*CHAR) LEN(128) CASE(*MIXED) SPCVAL((*DFT)) +
                          DFT(*DFT) PROMPT('Content type')
             PARM       KWD(CONTENT) TYPE(*CHAR) LEN(6) RSTD(*YES) +
                          VALUES(*PLAIN *HTML) DFT(*PLAIN) +
                          PROMPT('Content type of the note') +
                          HELP('*PLAIN: the note is text/plain. *HTML: the note is +
                          text/html.')
