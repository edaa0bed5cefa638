/*********************************************************************/
/* DSPSMTPA - Display SMTP Attributes (qtsmtp; IBM i shows them in   */
/* the CHGSMTPA prompt)                                              */
/*********************************************************************/
             CMD        PROMPT('Display SMTP Attributes') PGM('qtsmtp.programs.attributes:dspsmtpa') +
                          MAXPOS(0) +
                          HELP('Writes the SMTP attributes now stored, one per line, +
                          with the prompt text CHGSMTPA uses, to standard output. +
                          Needs no terminal, so scripts and audits can read it.')
