/*********************************************************************/
/* ADDSMTPLE - Add SMTP List Entry                                   */
/* IBM i command definition source; read by qtsmtp.cl.definition.   */
/*********************************************************************/
             CMD        PROMPT('Add SMTP List Entry') PGM('qtsmtp.programs.lists:addsmtple') +
                          MAXPOS(1) +
                          HELP('Adds an entry to one of the SMTP lists kept in +
                          QUSRSYS/QATMADRLST. Which parameters an entry takes +
                          depends on TYPE: address lists take INTNETADR and +
                          SUBNETMASK (IPv4) or IP6NETADR and IP6PFX (IPv6); domain +
                          lists take HOSTNAME; filters take FTRDATA. While the +
                          server runs, the command returns only when every server +
                          job applies the change, so the next connection sees it; +
                          a job that does not confirm within 5 seconds is named in +
                          diagnostic TCP2665 (or TCP2666), the change is stored all +
                          the same, and the exit status is 3.')
             PARM       KWD(TYPE) TYPE(*CHAR) LEN(11) RSTD(*YES) +
                          VALUES(*ACCEPT *REJECT *NEAR *DOMAIN *SVRBIND +
                          *CLTBIND *ETRNSVR *FTRSUBJECT *FTRORIGIN +
                          *FTRFILNAME *FTRTYPE *HOSTAUTH *ACCEPTIP6 +
                          *REJECTIP6 *DOMAINIP6 *SVRBNDIP6 *CLTBNDIP6) +
                          MIN(1) PROMPT('List type') +
                          HELP('The list to add to. *ACCEPT and *ACCEPTIP6: clients +
                          allowed to relay under ALWRLY(*LIST) or (*BOTH). *REJECT +
                          and *REJECTIP6: clients whose connections are refused. +
                          *NEAR: recipient domains, or client networks, allowed to +
                          relay under ALWRLY(*NEAR) or (*BOTH). *DOMAIN and +
                          *DOMAINIP6: domains that are local to this system. +
                          *SVRBIND and *SVRBNDIP6: addresses the server listens on. +
                          The other lists are stored and validated for the +
                          delivery and filtering functions.')
             PARM       KWD(INTNETADR) TYPE(*CHAR) LEN(15) +
                          PMTCTL(PCINTNET) +
                          PROMPT('Internet address') +
                          HELP('An IPv4 address in dotted form, such as 10.1.1.0.')
             PARM       KWD(SUBNETMASK) TYPE(*CHAR) LEN(15) +
                          PMTCTL(PCSUBNET) +
                          DFT('255.255.255.255') PROMPT('Subnet mask') +
                          HELP('The mask that selects the network part of INTNETADR; +
                          its one bits must be contiguous. 255.255.255.255, the +
                          default, names one host. Bits of INTNETADR outside the +
                          mask are ignored.')
             PARM       KWD(HOSTNAME) TYPE(*CHAR) LEN(255) CASE(*MIXED) +
                          PMTCTL(PCHOST) +
                          PROMPT('Host name') +
                          HELP('A domain or host name. For *NEAR and *DOMAIN a leading +
                          period (.example.com) also takes in every sub-domain.')
             PARM       KWD(FTRDATA) TYPE(*CHAR) LEN(255) CASE(*MIXED) +
                          PMTCTL(PCFTRDATA) +
                          PROMPT('Filter data') +
                          HELP('The text a *FTRxxx filter looks for.')
             PARM       KWD(USERNAME) TYPE(*CHAR) LEN(255) CASE(*MIXED) +
                          PMTCTL(PCHOSTAUTH) +
                          PROMPT('User name') +
                          HELP('*HOSTAUTH only: the user name to give HOSTNAME.')
             PARM       KWD(PASSWORD) TYPE(*CHAR) LEN(255) CASE(*MIXED) +
                          PMTCTL(PCHOSTAUTH) +
                          DSPINPUT(*NO) PROMPT('User password') +
                          HELP('*HOSTAUTH only: the password to give HOSTNAME. It is +
                          kept in a member that only its owner can read.')
             PARM       KWD(IP6PFX) TYPE(*INT2) RANGE(0 128) DFT(128) +
                          PMTCTL(PCIP6PFX) +
                          PROMPT('IPv6 prefix') +
                          HELP('The prefix length of IP6NETADR, 0 to 128; 128, the +
                          default, names one host.')
             PARM       KWD(IP6NETADR) TYPE(*CHAR) LEN(45) +
                          PMTCTL(PCIP6ADR) +
                          PROMPT('IPv6 address') +
                          HELP('An IPv6 address, such as 2001:db8::.')
/* Conditional prompting: the prompter shows a parameter only for the list     */
/* types that take it (qtsmtp.config.listtypes; tests/panels check they agree). */
PCINTNET:    PMTCTL     CTL(TYPE) NBRTRUE(*GE 1) +
                          COND((*EQ *ACCEPT) (*EQ *REJECT) (*EQ *NEAR) +
                            (*EQ *DOMAIN) (*EQ *SVRBIND) (*EQ *CLTBIND) +
                            (*EQ *ETRNSVR))
PCSUBNET:    PMTCTL     CTL(TYPE) NBRTRUE(*GE 1) +
                          COND((*EQ *ACCEPT) (*EQ *REJECT) (*EQ *NEAR) +
                            (*EQ *ETRNSVR))
PCHOST:      PMTCTL     CTL(TYPE) NBRTRUE(*GE 1) +
                          COND((*EQ *NEAR) (*EQ *DOMAIN) (*EQ *ETRNSVR) +
                            (*EQ *HOSTAUTH) (*EQ *DOMAINIP6))
PCFTRDATA:   PMTCTL     CTL(TYPE) NBRTRUE(*GE 1) +
                          COND((*EQ *FTRSUBJECT) (*EQ *FTRORIGIN) +
                            (*EQ *FTRFILNAME) (*EQ *FTRTYPE))
PCHOSTAUTH:  PMTCTL     CTL(TYPE) NBRTRUE(*GE 1) +
                          COND((*EQ *HOSTAUTH))
PCIP6PFX:    PMTCTL     CTL(TYPE) NBRTRUE(*GE 1) +
                          COND((*EQ *ACCEPTIP6) (*EQ *REJECTIP6))
PCIP6ADR:    PMTCTL     CTL(TYPE) NBRTRUE(*GE 1) +
                          COND((*EQ *ACCEPTIP6) (*EQ *REJECTIP6) +
                            (*EQ *DOMAINIP6) (*EQ *SVRBNDIP6) +
                            (*EQ *CLTBNDIP6))
