/*********************************************************************/
/* CHGSMTPA - Change SMTP Attributes                                 */
/* Every parameter defaults to *SAME: only what is named changes.    */
/* A parameter that cannot act says so in HELP, naming the message  */
/* CHGSMTPA sends (qtsmtp/config/attrstatus.py is the one table).    */
/*********************************************************************/
             CMD        PROMPT('Change SMTP Attributes') PGM('qtsmtp.programs.attributes:chgsmtpa') +
                          MAXPOS(1) +
                          HELP('Changes the SMTP attributes kept in member +
                          QUSRSYS/QATMSMTP(CONFIG). Every parameter defaults to +
                          *SAME, so only the parameters named change. The relay, +
                          router and limit attributes apply to the next connection +
                          of a running server: the command returns only when every +
                          server job applies the change; a job that does not +
                          confirm within 5 seconds is named in diagnostic TCP2665 +
                          (or TCP2666), the change is stored all the same, and the +
                          exit status is 3. AUTOSTART, PORT, ALWIMPSSL, +
                          COLDSTART, DIRTYPE, SBSD and USRIDDELIM apply at the next +
                          start. A parameter that cannot act on this system says +
                          so in its help, and setting it to anything but its +
                          shipped value sends the diagnostic named there; the +
                          value is stored all the same, and DSPSMTPA marks it +
                          (no effect).')
             PARM       KWD(AUTOSTART) TYPE(*CHAR) LEN(4) RSTD(*YES) +
                          VALUES(*SAME *YES *NO) DFT(*SAME) +
                          PROMPT('Autostart server') +
                          HELP('*YES: STRTCPSVR SERVER(*AUTOSTART) starts the SMTP server.')
             PARM       KWD(COLDSTART) TYPE(*CHAR) LEN(4) RSTD(*YES) +
                          VALUES(*SAME *YES *NO) DFT(*SAME) +
                          PROMPT('Clear e-mail on start-up') +
                          HELP('*YES: every message still queued (and every +
                          submission waiting) is discarded when STRTCPSVR starts the +
                          server, before the client job runs; the QTSMTPSRVD job log +
                          says how many (TCP2740).')
             PARM       KWD(DIRTYPE) TYPE(*CHAR) LEN(8) RSTD(*YES) +
                          VALUES(*SAME *SMTP *SMTPMSF *SDD) DFT(*SAME) +
                          PROMPT('E-mail directory type') +
                          HELP('Where local mailboxes are looked up. Only *SMTP, the +
                          directory of ADDUSRSMTP, exists here; another value has +
                          no effect: TCP2700.')
             PARM       KWD(RTYMIN) TYPE(RTYMINE) SNGVAL((*SAME)) DFT(*SAME) +
                          PROMPT('Retries by minute') +
                          HELP('Number of retries and the interval between them, in +
                          minutes; *DFT is 3 retries, 30 minutes apart.')
 RTYMINE:    ELEM       TYPE(*INT2) RANGE(0 99) SPCVAL((*SAME) (*DFT 3)) DFT(*SAME) +
                          PROMPT('Number of retries')
             ELEM       TYPE(*INT2) RANGE(0 99) SPCVAL((*SAME) (*DFT 30)) DFT(*SAME) +
                          PROMPT('Time interval')
             PARM       KWD(RTYDAY) TYPE(RTYDAYE) SNGVAL((*SAME)) DFT(*SAME) +
                          PROMPT('Retries by day') +
                          HELP('Number of retries and the interval between them, in +
                          days, after the hourly retries; *DFT is 0 0.')
 RTYDAYE:    ELEM       TYPE(*INT2) RANGE(0 9) SPCVAL((*SAME) (*DFT 0)) DFT(*SAME) +
                          PROMPT('Number of retries')
             ELEM       TYPE(*INT2) RANGE(0 9) SPCVAL((*SAME) (*DFT 0)) DFT(*SAME) +
                          PROMPT('Time interval')
             PARM       KWD(RTYHOUR) TYPE(RTYHOURE) SNGVAL((*SAME)) DFT(*SAME) +
                          PROMPT('Retries by hour') +
                          HELP('Number of retries and the interval between them, in +
                          hours, after the retries by minute; *DFT is 0 0.')
 RTYHOURE:   ELEM       TYPE(*INT2) RANGE(0 99) SPCVAL((*SAME) (*DFT 0)) DFT(*SAME) +
                          PROMPT('Number of retries')
             ELEM       TYPE(*INT2) RANGE(0 99) SPCVAL((*SAME) (*DFT 0)) DFT(*SAME) +
                          PROMPT('Time interval')
             PARM       KWD(RTYRMTSVR) TYPE(*CHAR) LEN(4) RSTD(*YES) +
                          VALUES(*SAME *YES *NO) DFT(*SAME) +
                          PROMPT('Retry remote name server') +
                          HELP('*YES: a name-server failure is retried like a +
                          temporary delivery failure.')
             PARM       KWD(AUTOADD) TYPE(*CHAR) LEN(4) RSTD(*YES) +
                          VALUES(*SAME *NO *YES) DFT(*SAME) +
                          PROMPT('Automatic registration') +
                          HELP('Enrol remote users in the system distribution directory. +
                          No effect here: TCP2701.')
             PARM       KWD(USRIDPFX) TYPE(*CNAME) LEN(5) SPCVAL((*SAME) (*DFT QSM)) +
                          DFT(*SAME) PROMPT('User ID prefix') +
                          HELP('Prefix of user IDs made by AUTOADD. No effect here: TCP2701.')
             PARM       KWD(ADDRESS) TYPE(*CNAME) LEN(8) SPCVAL((*SAME) (*DFT QSMRMTAD)) +
                          DFT(*SAME) PROMPT('Address') +
                          HELP('Directory address used by AUTOADD. No effect here: TCP2701.')
             PARM       KWD(SYSNAME) TYPE(*CHAR) LEN(255) CASE(*MIXED) +
                          SPCVAL((*SAME) (*DFT)) DFT(*SAME) PROMPT('System name') +
                          HELP('The name the server gives in its greeting and in +
                          Received: headers, and a local domain. *DFT: the host +
                          name of this machine, read once when the server starts.')
             PARM       KWD(TBLTYPE) TYPE(*CHAR) LEN(9) RSTD(*YES) +
                          VALUES(*SAME *SYSTEM *PERSONAL) DFT(*SAME) +
                          PROMPT('Alias table type') +
                          HELP('Whether SDD alias names come from the system table or +
                          from each user''s personal table. No effect here: TCP2701.')
             PARM       KWD(USRIDDELIM) TYPE(*CHAR) LEN(4) RSTD(*YES) +
                          VALUES(*SAME *DFT '?' '=' '.' '&' '$' '#' '/' '+' +
                          '_' '-' '*' '"') DFT(*SAME) +
                          PROMPT('User ID delimiter') +
                          HELP('Character between user ID and address in SDD names. No +
                          effect here: TCP2701.')
             PARM       KWD(MAILROUTER) TYPE(*CHAR) LEN(255) CASE(*MIXED) +
                          SPCVAL((*SAME) (*NONE)) DFT(*SAME) PROMPT('Mail router') +
                          HELP('Host (name or address, optionally :port, a qtsmtp +
                          extension) that receives mail for recipients that cannot +
                          be found, and all non-local mail when FIREWALL(*YES).')
             PARM       KWD(CCSID) TYPE(*INT4) RANGE(1 65533) +
                          SPCVAL((*SAME) (*DFT 00819)) DFT(*SAME) +
                          PROMPT('Coded character set identifier') +
                          HELP('The character set used to convert mail that has no +
                          MIME charset; *DFT is 00819 (ISO 8859-1). No effect here: +
                          TCP2702.')
             PARM       KWD(TBLSMTPOUT) TYPE(TBLQUAL) SNGVAL((*SAME) (*CCSID) (*DFT)) +
                          DFT(*SAME) PROMPT('Outgoing EBCDIC/ASCII table') +
                          HELP('Conversion table for outgoing mail, or *CCSID to +
                          convert by CCSID. No effect here: TCP2702.')
 TBLQUAL:    QUAL       TYPE(*NAME) LEN(10) PROMPT('Table')
             QUAL       TYPE(*NAME) LEN(10) SPCVAL((*LIBL) (*CURLIB)) DFT(*LIBL) +
                          PROMPT('Library')
             PARM       KWD(TBLSMTPIN) TYPE(TBLQUAL) SNGVAL((*SAME) (*CCSID) (*DFT)) +
                          DFT(*SAME) PROMPT('Incoming ASCII/EBCDIC table') +
                          HELP('Conversion table for incoming mail, or *CCSID to +
                          convert by CCSID. No effect here: TCP2702.')
             PARM       KWD(JOURNAL) TYPE(*CHAR) LEN(4) RSTD(*YES) +
                          VALUES(*SAME *YES *NO) DFT(*SAME) PROMPT('Journal') +
                          HELP('*YES: the server and client jobs journal every +
                          SMTP event (connection, HELO, MAIL, each RCPT decision, +
                          queued, filtered, delivery attempt, bounce) as JSON lines +
                          in QUSRSYS/QZMF, one file a day; DSPSMTPJRN reads them.')
             PARM       KWD(PCTRTGCHR) TYPE(*CHAR) LEN(4) RSTD(*YES) +
                          VALUES(*SAME *YES *NO) DFT(*SAME) +
                          PROMPT('Percent routing character') +
                          HELP('Whether % in a local part is a routing character. +
                          The relay decision always looks through % (RFC 2505), +
                          whatever this says. No effect here: TCP2706.')
             PARM       KWD(ETRNSVR) TYPE(*CHAR) LEN(4) RSTD(*YES) +
                          VALUES(*SAME *NO *YES) DFT(*SAME) +
                          PROMPT('Support ETRN for server') +
                          HELP('*YES: EHLO offers ETRN (RFC 1985), and a host in +
                          the *ETRNSVR list may ask with ETRN node or ETRN @node +
                          that the deferred mail for that node be delivered now: +
                          253 with the number of messages, 251 when none waits, 459 +
                          for a client the list does not name. *NO: 502.')
             PARM       KWD(MIME8BIT) TYPE(*CHAR) LEN(4) RSTD(*YES) +
                          VALUES(*SAME *NO *YES) DFT(*SAME) +
                          PROMPT('Support 8-bit MIME') +
                          HELP('*YES: the server offers 8BITMIME (RFC 6152) and +
                          SMTPUTF8. *NO: neither is offered, MAIL with +
                          BODY=8BITMIME gets 555 and a message with 8-bit bytes +
                          gets 554 5.6.1 at the end of DATA.')
             PARM       KWD(NFYDLVRY) TYPE(NFYE) SNGVAL((*SAME)) DFT(*SAME) +
                          PROMPT('Delivery status notification') +
                          HELP('Who is told about mail that cannot be delivered +
                          (RFC 3464 reports). Responsible person: a local user +
                          who gets a copy of every failure report; *NONE, +
                          nobody. Notify the sender *YES: senders get reports +
                          (only senders the client was trusted for: see +
                          qtsmtp-server(8), DSN) and the server offers DSN (RFC +
                          3461); *NO: no report goes to a sender and DSN is not +
                          offered.')
 NFYE:       ELEM       TYPE(*NAME) LEN(10) SPCVAL((*SAME) (*NONE)) DFT(*SAME) +
                          PROMPT('Responsible person')
             ELEM       TYPE(*CHAR) LEN(4) RSTD(*YES) VALUES(*SAME *YES *NO) +
                          DFT(*SAME) PROMPT('Notify the sender')
             PARM       KWD(DLYNFY) TYPE(*INT4) RANGE(1 10080) +
                          SPCVAL((*SAME) (*NONE) (*DFT 240)) DFT(*SAME) +
                          PROMPT('Delay notice after (min, qtsmtp extension)') +
                          HELP('Minutes a recipient may wait in the queue before +
                          its sender is told, once, that delivery is delayed (an +
                          RFC 3464 report, action delayed), unless the sender +
                          asked otherwise with NOTIFY; *NONE, never. *DFT is +
                          240 (four hours).')
             PARM       KWD(ESMTPEXT) TYPE(*CHAR) LEN(11) RSTD(*YES) +
                          VALUES(*PIPELINING *ENHSTSCODE *SMTPUTF8) +
                          SNGVAL((*SAME) (*ALL) (*NONE)) MAX(3) DFT(*SAME) +
                          PROMPT('ESMTP extensions (qtsmtp extension)') +
                          HELP('The ESMTP extensions without an IBM keyword that +
                          EHLO offers: *PIPELINING (RFC 2920), *ENHSTSCODE +
                          (ENHANCEDSTATUSCODES, RFC 2034), *SMTPUTF8 (RFC 6531, +
                          only with MIME8BIT(*YES)); *ALL, every one; *NONE, +
                          none. 8BITMIME follows MIME8BIT, DSN follows NFYDLVRY.')
             PARM       KWD(ALIASDMN) TYPE(ALIASE) SNGVAL((*SAME) (*NONE)) MAX(10) +
                          DFT(*SAME) PROMPT('Domain aliases') +
                          HELP('Up to 10 numbered domain aliases; each is a local domain.')
 ALIASE:     ELEM       TYPE(*INT2) RANGE(1 10) MIN(1) PROMPT('Alias index')
             ELEM       TYPE(*CHAR) LEN(255) CASE(*MIXED) SPCVAL((*NONE)) MIN(1) +
                          PROMPT('Domain name')
             PARM       KWD(ALLMAILMSF) TYPE(*CHAR) LEN(4) RSTD(*YES) +
                          VALUES(*SAME *YES *NO) DFT(*SAME) +
                          PROMPT('All mail to MSF') +
                          HELP('*YES: every message goes through the mail server +
                          framework (IBM i MSF) before delivery. No effect here: +
                          TCP2703.')
             PARM       KWD(ALWAUTH) TYPE(*CHAR) LEN(6) RSTD(*YES) +
                          VALUES(*LOCAL *RELAY) SNGVAL((*SAME) (*NONE)) MAX(2) +
                          DFT(*SAME) PROMPT('Allow authentication') +
                          HELP('Whether SMTP AUTH (PLAIN and LOGIN, offered only +
                          after STARTTLS, users kept with ADDSMTPAUT) is offered: +
                          *NONE, never. *LOCAL: a client may log on; the logon +
                          changes nothing for local mail. *RELAY: a logged-on +
                          client may also relay whatever ALWRLY says.')
             PARM       KWD(ALWBARELF) TYPE(*CHAR) LEN(4) RSTD(*YES) +
                          VALUES(*SAME *YES *NO) DFT(*SAME) +
                          PROMPT('Allow bare line feed') +
                          HELP('*NO: a bare CR or LF in DATA (a way to smuggle +
                          commands past another server) gets the message refused +
                          with 550 5.6.2. *YES: it is taken as a line end and +
                          stored as CR LF.')
             PARM       KWD(ALWIMPSSL) TYPE(*CHAR) LEN(4) RSTD(*YES) +
                          VALUES(*SAME *YES *NO) DFT(*SAME) +
                          PROMPT('Allow implicit SSL') +
                          HELP('*YES: also listen for implicit TLS (RFC 8314) on +
                          IMPSSLPORT, with the TLSCERT certificate. Applies at the +
                          next start.')
             PARM       KWD(ALWRLY) TYPE(*CHAR) LEN(5) RSTD(*YES) +
                          VALUES(*SAME *NONE *ALL *LIST *NEAR *BOTH) DFT(*SAME) +
                          PROMPT('Allow relayed mail') +
                          HELP('Which clients may send mail to domains that are not +
                          local. *NONE: no client. *LIST: clients in the *ACCEPT +
                          and *ACCEPTIP6 lists. *NEAR: recipients in *NEAR domains, +
                          or clients in *NEAR networks. *BOTH: what *LIST or *NEAR +
                          allows. *ALL: any client; this makes an open relay.')
             PARM       KWD(DIALSCD) TYPE(DIALE) SNGVAL((*SAME)) DFT(*SAME) +
                          PROMPT('Dial-up scheduler') +
                          HELP('Whether SMTP connects on a schedule through a dial-up +
                          connection profile, and how often. No effect here: TCP2704.')
 DIALE:      ELEM       TYPE(*CHAR) LEN(4) RSTD(*YES) VALUES(*SAME *YES *NO) +
                          DFT(*SAME) PROMPT('Start dial-up')
             ELEM       TYPE(*NAME) LEN(10) SPCVAL((*SAME) (*NONE)) DFT(*SAME) +
                          PROMPT('Connection profile')
             ELEM       TYPE(*INT4) RANGE(1 65535) SPCVAL((*SAME)) DFT(*SAME) +
                          PROMPT('Interval in minutes')
             PARM       KWD(ETRNCLT) TYPE(*CHAR) LEN(4) RSTD(*YES) +
                          VALUES(*SAME *NO *YES) DFT(*SAME) +
                          PROMPT('Support ETRN for client') +
                          HELP('*YES: when the client job starts, it asks its mail hub +
                          (FWDHUBSVR, else MAILROUTER) with ETRN (RFC 1985) for the +
                          mail queued there for the system name and the ALIASDMN +
                          domains; each reply goes to its job log (TCP2744).')
             PARM       KWD(FIREWALL) TYPE(*CHAR) LEN(4) RSTD(*YES) +
                          VALUES(*SAME *NO *YES) DFT(*SAME) +
                          PROMPT('Forward mail to router through firewall') +
                          HELP('*YES: mail for domains that are neither local nor +
                          *NEAR goes to MAILROUTER.')
             PARM       KWD(FTRACN) TYPE(*CHAR) LEN(11) RSTD(*YES) +
                          VALUES(*SAME *NONE *KEEP *REJECTMAIL *REFUSE) DFT(*SAME) +
                          PROMPT('Filter action') +
                          HELP('What happens to mail a *FTRxxx filter list matches: +
                          *KEEP keeps it in the quarantine (WRKSMTPQTN), undelivered; +
                          *REJECTMAIL discards it and logs why; *REFUSE (qtsmtp''s +
                          own) refuses it at the end of DATA with 550 5.7.1; *NONE +
                          filters nothing.')
             PARM       KWD(FWDHUBSVR) TYPE(*CHAR) LEN(255) CASE(*MIXED) +
                          SPCVAL((*SAME) (*NONE)) DFT(*SAME) +
                          PROMPT('Forwarding mail hub server') +
                          HELP('Host (name or address, optionally :port) that +
                          receives all outgoing non-local mail (a smart host).')
             PARM       KWD(IFCDMN) TYPE(IFCE) SNGVAL((*SAME) (*NONE)) MAX(32) +
                          DFT(*SAME) PROMPT('Interface domains') +
                          HELP('Pairs of interface address and domain name: the +
                          domain this system answers for on that interface. No effect +
                          here: TCP2705.')
 IFCE:       ELEM       TYPE(*CHAR) LEN(45) MIN(1) PROMPT('Interface address')
             ELEM       TYPE(*CHAR) LEN(255) CASE(*MIXED) MIN(1) PROMPT('Domain name')
             PARM       KWD(KEEPUNTIL) TYPE(*INT2) RANGE(1 365) +
                          SPCVAL((*SAME) (*DFT 5) (*NOMAX)) DFT(*SAME) +
                          PROMPT('Keep undelivered mail (days)') +
                          HELP('Days an undeliverable message is kept before it is +
                          returned to its sender: a retry that would come later is +
                          not made, the recipients still waiting fail with 4.4.7 +
                          and the sender gets a notification (TCP2741). *NOMAX: only +
                          the retries (RTYMIN, RTYHOUR, RTYDAY) decide.')
             PARM       KWD(MAXEMMSIZE) TYPE(*INT4) RANGE(1 2097151) +
                          SPCVAL((*SAME) (*DFT 10240) (*NOMAX)) DFT(*SAME) +
                          PROMPT('Maximum e-mail size (KB)') +
                          HELP('The largest message accepted, in kilobytes; +
                          announced with the SIZE extension (RFC 1870), and a +
                          larger message is read to its end without being +
                          stored and refused with 552. Shipped (and *DFT): +
                          10240, as Postfix''s message_size_limit. *NOMAX +
                          announces 2097151 and lets any client fill the +
                          disk of the queue with messages that large.')
             PARM       KWD(MAXINEMM) TYPE(*INT4) RANGE(1 65535) +
                          SPCVAL((*SAME) (*NOMAX)) DFT(*SAME) +
                          PROMPT('Maximum inbound e-mails') +
                          HELP('Most sessions the server serves at the same time; +
                          a client beyond it gets 421. MAXCLTEMM limits the +
                          sessions of one client address.')
             PARM       KWD(MAXOUTEMM) TYPE(*INT4) RANGE(1 65535) +
                          SPCVAL((*SAME) (*NOMAX)) DFT(*SAME) +
                          PROMPT('Maximum outbound e-mails') +
                          HELP('Most deliveries the client job makes at the same time.')
             PARM       KWD(OVRRJTCNNL) TYPE(*CHAR) LEN(4) RSTD(*YES) +
                          VALUES(*SAME *NO *YES) DFT(*SAME) +
                          PROMPT('Override reject connection list') +
                          HELP('*YES: a client inside its POP relay window may connect +
                          even when it is in the *REJECT list. No effect here: TCP2709.')
             PARM       KWD(POPWDW) TYPE(*INT4) RANGE(15 65535) +
                          SPCVAL((*SAME) (*NONE)) DFT(*SAME) +
                          PROMPT('POP relay window (minutes)') +
                          HELP('Minutes, 15 to 65535, that a client may relay after it +
                          logged on to POP (POP before SMTP). No effect here: +
                          TCP2708.')
             PARM       KWD(RBLSVR) TYPE(*CHAR) LEN(255) CASE(*MIXED) +
                          SNGVAL((*SAME) (*NONE)) MAX(32) DFT(*SAME) +
                          PROMPT('Realtime blackhole list servers') +
                          HELP('DNS blocklist zones asked about each connecting +
                          client; a listed client is refused with 554. A zone that +
                          does not answer within 2 seconds counts as not listing +
                          the client. QTSMTP_DNS=off turns the look-ups off.')
             PARM       KWD(SBSD) TYPE(SBSQUAL) SNGVAL((*SAME)) DFT(*SAME) +
                          PROMPT('Subsystem description') +
                          HELP('Subsystem the SMTP jobs are shown in. No effect here: TCP2707.')
 SBSQUAL:    QUAL       TYPE(*NAME) LEN(10) PROMPT('Subsystem description')
             QUAL       TYPE(*NAME) LEN(10) SPCVAL((*LIBL)) DFT(*LIBL) PROMPT('Library')
             PARM       KWD(VFYFROMUSR) TYPE(*CHAR) LEN(4) RSTD(*YES) +
                          VALUES(*SAME *NO *YES *ALL) DFT(*SAME) +
                          PROMPT('Verify from user') +
                          HELP('Check the MAIL FROM address against the users of the +
                          SMTP directory (ADDUSRSMTP) and postmaster. *YES: a sender +
                          at a local domain must be one of them; *ALL: every sender +
                          must be. Others get 553 5.7.1 at MAIL. MAIL FROM:<> is +
                          always taken.')
             PARM       KWD(VFYID) TYPE(*CHAR) LEN(4) RSTD(*YES) +
                          VALUES(*SAME *NO *YES) DFT(*SAME) +
                          PROMPT('Verify identity') +
                          HELP('*YES: check that the sender of mail submitted on this +
                          system is the user who sends it. No effect here: TCP2720.')
             PARM       KWD(VFYMSFMSG) TYPE(*CHAR) LEN(4) RSTD(*YES) +
                          VALUES(*SAME *NO *YES) DFT(*SAME) +
                          PROMPT('Verify MSF message') +
                          HELP('*YES: check messages handed over by the mail server +
                          framework before they are sent. No effect here: TCP2703.')
             PARM       KWD(TLSCERT) TYPE(*CHAR) LEN(255) CASE(*MIXED) +
                          SPCVAL((*SAME) (*NONE)) DFT(*SAME) +
                          PROMPT('TLS certificate (qtsmtp extension)') +
                          HELP('Path of the PEM certificate chain the server offers +
                          with STARTTLS and on the implicit TLS port. *NONE: no +
                          TLS, so no STARTTLS and no AUTH. Applies at the next start.')
             PARM       KWD(TLSKEY) TYPE(*CHAR) LEN(255) CASE(*MIXED) +
                          SPCVAL((*SAME) (*NONE)) DFT(*SAME) +
                          PROMPT('TLS private key (qtsmtp extension)') +
                          HELP('Path of the PEM private key of TLSCERT. The server +
                          does not start when its group or other users can read +
                          or write it. Applies at the next start.')
             PARM       KWD(IMPSSLPORT) TYPE(*INT4) RANGE(1 65535) +
                          SPCVAL((*SAME) (*DFT 465)) DFT(*SAME) +
                          PROMPT('Implicit TLS port (qtsmtp extension)') +
                          HELP('The port of the implicit TLS listener that +
                          ALWIMPSSL(*YES) opens; *DFT is 465. Applies at the next start.')
             PARM       KWD(PROXYPORT) TYPE(*INT4) RANGE(1 65535) +
                          SPCVAL((*SAME) (*NONE)) DFT(*SAME) +
                          PROMPT('PROXY protocol port (qtsmtp extension)') +
                          HELP('A second port where every connection must begin with +
                          a PROXY protocol header (version 1 or 2) from a load +
                          balancer; the client address it gives is the one relay +
                          decisions use. Anyone who reaches this port can claim +
                          any address: let only the balancer reach it. Applies at +
                          the next start.')
             PARM       KWD(MAXRCPT) TYPE(*INT4) RANGE(1 100000) +
                          SPCVAL((*SAME) (*DFT 1000)) DFT(*SAME) +
                          PROMPT('Maximum recipients (qtsmtp extension)') +
                          HELP('Most recipients of one message; one more gets 452. +
                          *DFT is 1000.')
             PARM       KWD(MAXCLTEMM) TYPE(*INT4) RANGE(1 65535) +
                          SPCVAL((*SAME) (*DFT 50) (*NOMAX)) DFT(*SAME) +
                          PROMPT('Maximum sessions per client (qtsmtp extension)') +
                          HELP('Most sessions one client address may have at the +
                          same time, counted across every server job; one more +
                          gets 421. This system''s own addresses are not +
                          limited. Shipped (and *DFT): 50, as Postfix''s +
                          smtpd_client_connection_count_limit.')
             PARM       KWD(MAXCLTRATE) TYPE(*INT4) RANGE(1 1000000) +
                          SPCVAL((*SAME) (*DFT 300) (*NOMAX)) DFT(*SAME) +
                          PROMPT('Client connections a minute (qtsmtp extension)') +
                          HELP('Most connections one client address may open in a +
                          minute, counted across every server job; one more gets +
                          421. This system''s own addresses are not limited. +
                          Shipped (and *DFT): 300.')
             PARM       KWD(CMDTIMEOUT) TYPE(*INT4) RANGE(1 3600) +
                          SPCVAL((*SAME) (*DFT 300)) DFT(*SAME) +
                          PROMPT('Command timeout (s, qtsmtp extension)') +
                          HELP('Seconds the server waits for the next command before +
                          it closes the session; *DFT is 300 (RFC 5321 4.5.3.2.7).')
             PARM       KWD(DTATIMEOUT) TYPE(*INT4) RANGE(1 3600) +
                          SPCVAL((*SAME) (*DFT 180)) DFT(*SAME) +
                          PROMPT('Data timeout (s, qtsmtp extension)') +
                          HELP('Seconds the server waits for more message data during +
                          DATA; *DFT is 180. The clock starts again with every +
                          piece of data, so a slow upload is not cut off while +
                          data flows.')
             PARM       KWD(MAXBADCMD) TYPE(*INT4) RANGE(1 1000) +
                          SPCVAL((*SAME) (*DFT 20)) DFT(*SAME) +
                          PROMPT('Maximum bad commands (qtsmtp extension)') +
                          HELP('Commands that are not valid (unknown, bad syntax, out +
                          of sequence, too long) a session may send before it is +
                          closed with 421; *DFT is 20.')
             PARM       KWD(MAXAUTHFAIL) TYPE(*INT4) RANGE(1 100) +
                          SPCVAL((*SAME) (*DFT 3)) DFT(*SAME) +
                          PROMPT('Maximum AUTH failures (qtsmtp extension)') +
                          HELP('Failed AUTH attempts after which a session is closed +
                          with 421, and after which the client address, counted +
                          across every server job, is refused AUTH for ten minutes +
                          from its last failure, the right password too. Each +
                          failure is also answered more slowly, one second more +
                          per failure, up to ten seconds. *DFT is 3.')
             PARM       KWD(PORT) TYPE(*INT4) RANGE(1 65535) +
                          SPCVAL((*SAME) (*DFT 25)) DFT(*SAME) +
                          PROMPT('Port (qtsmtp extension)') +
                          HELP('The TCP port the server listens on; *DFT is 25. The +
                          embedded default library ships 2525 so that a user +
                          without root can start it. Applies at the next start.')
             PARM       KWD(RUNQINTV) TYPE(*INT4) RANGE(5 1440) +
                          SPCVAL((*SAME) (*DFT 30)) DFT(*SAME) +
                          PROMPT('Queue runner interval (min, qtsmtp extension)') +
                          HELP('Minutes between two runs of the queue runner when the +
                          server is not running: the shipped systemd timer (or a +
                          cron line) starts qtsmtp runqueue --scheduled every 5 +
                          minutes, and it delivers the submissions and the queue +
                          when this interval has passed since its last run and the +
                          client job is not running (sendmail -q30m). WRKSMTPQ +
                          shows the next run. *DFT is 30.')
