/*********************************************************************/
/* DCL       - Declare CL Variable                                 */
/* A statement of CL programs run by qtsmtp run (no PGM of its own). */
/*********************************************************************/
             CMD        PROMPT('Declare CL Variable') MAXPOS(4) +
                          HELP('Declares a variable of the program. +
                          Declarations come after PGM and before every +
                          other statement. *CHAR values are padded +
                          with blanks to their length; *DEC keeps LEN +
                          digits with the decimal positions given; +
                          *INT and *UINT are 2, 4 or 8 bytes; *LGL is +
                          0 or 1.')
             PARM       KWD(VAR) TYPE(*CHAR) LEN(11) CHOICE('CL variable name') MIN(1) +
                          PROMPT('CL variable name') HELP('The name, & +
                          and up to 10 characters.')
             PARM       KWD(TYPE) TYPE(*CHAR) LEN(5) RSTD(*YES) VALUES(*CHAR *DEC *LGL *INT *UINT) MIN(1) +
                          PROMPT('Type') HELP('The type of the +
                          variable.')
             PARM       KWD(LEN) TYPE(LENE) +
                          PROMPT('Length') HELP('*CHAR: 1 to 32767 +
                          characters, 32 if not given; *DEC: digits +
                          and decimal positions, 15 5 if not given; +
                          *INT and *UINT: 2, 4 or 8 bytes, 4 if not +
                          given.')
 LENE:       ELEM       TYPE(*INT4) RANGE(1 32767) PROMPT('Length')
             ELEM       TYPE(*INT4) RANGE(0 9) PROMPT('Decimal positions')
             PARM       KWD(VALUE) TYPE(*CHAR) LEN(5000) CHOICE('Constant') +
                          PROMPT('Initial value') HELP('The value the +
                          variable has when the program starts: blanks +
                          or zero if not given.')
