/*********************************************************************/
/* WRKACTJOB - Work with Active Jobs                                 */
/* Shows the jobs of the qtsmtp servers (subsystem QSYSWRK).         */
/*********************************************************************/
             CMD        PROMPT('Work with Active Jobs') PGM('qtsmtp.panels.wrkactjob:wrkactjob') +
                          MAXPOS(1) +
                          HELP('Lists the active jobs with their CPU time, the CPU +
                          percent and the storage I/O measured from their processes +
                          over the elapsed interval, their threads, run priority and +
                          status. On a terminal it is the Work with Active Jobs +
                          display: 2=Change, 3=Hold, 4=End, 5=Work with, 6=Release, +
                          7=Display message, 8=Work with spooled files (the job +
                          log); Position to and F14=Include choose the rows +
                          shown. When standard output is not a terminal the printed +
                          report is written whatever OUTPUT says.')
             PARM       KWD(OUTPUT) TYPE(*CHAR) LEN(6) RSTD(*YES) +
                          VALUES('*' *PRINT *CSV) DFT('*') PROMPT('Output') +
                          HELP('*: on a terminal, the Work with Active Jobs display; +
                          F5 refreshes it, F10 restarts the statistics, F11 shows +
                          the elapsed data, F19 refreshes it every INTERVAL +
                          seconds. *PRINT: the report of IBM''s spooled file +
                          QPDSPAJB on standard output, 132 columns, column for +
                          column. *CSV (qtsmtp''s own): the same rows for scripts, +
                          comma-separated with a heading line, every value whole.')
             PARM       KWD(RESET) TYPE(*CHAR) LEN(4) RSTD(*YES) VALUES(*NO *YES) +
                          DFT(*NO) PROMPT('Reset status statistics') +
                          HELP('*NO: the elapsed interval of an earlier WRKACTJOB in +
                          this process (the same command entry display) goes on. +
                          *YES: the interval starts now. A report that has no +
                          interval to go on with is measured over a quarter of a +
                          second.')
             PARM       KWD(SBS) TYPE(*NAME) LEN(10) SNGVAL((*ALL)) MAX(25) +
                          DFT(*ALL) PROMPT('Subsystem') +
                          HELP('Show only the jobs of these subsystems. The qtsmtp +
                          jobs run in QSYSWRK.')
             PARM       KWD(CPUPCTLMT) TYPE(*DEC) LEN(3 1) RANGE(0.0 99.9) +
                          SPCVAL((*NONE)) DFT(*NONE) PROMPT('CPU percent limit') +
                          HELP('Show only the jobs whose CPU percent over the elapsed +
                          interval is at least this. *NONE: every job.')
             PARM       KWD(RSPLMT) TYPE(*DEC) LEN(4 1) RANGE(0.0 999.9) +
                          SPCVAL((*NONE)) DFT(*NONE) PROMPT('Response time limit') +
                          HELP('Show only the jobs whose average response time, in +
                          seconds, is at least this. Response time is measured for +
                          interactive jobs; the qtsmtp jobs are batch jobs, so a +
                          limit shows none of them (message TCP4012 says so). +
                          *NONE: every job.')
             PARM       KWD(SEQ) TYPE(*CHAR) LEN(9) RSTD(*YES) +
                          VALUES(*SBS *AUXIO *CPU *CPUPCT *FUNCTION *INT *JOB +
                          *JOBTYPE *NUMBER *POOL *PTY *RSP *STS *THREAD *USER) +
                          DFT(*SBS) PROMPT('Sequence') +
                          HELP('*SBS: each subsystem, then its jobs by name, indented. +
                          Any other value: the jobs alone, sorted by that column; +
                          *AUXIO, *CPU, *CPUPCT, *INT, *RSP and *THREAD put the +
                          largest first.')
             PARM       KWD(JOB) TYPE(*GENERIC) LEN(10) SPCVAL((*ALL) (*SYS) +
                          (*SBS)) DFT(*ALL) PROMPT('Job name') +
                          HELP('Show only the jobs with this name, or whose name +
                          starts with the text before a final *, as QTSMTP*. *SBS: +
                          the subsystem lines alone. *SYS: system jobs (qtsmtp has +
                          none).')
             PARM       KWD(INTERVAL) TYPE(*INT2) RANGE(1 999) DFT(5) +
                          PROMPT('Automatic refresh interval') +
                          HELP('Seconds between refreshes of the display once F19 +
                          starts the automatic refresh. Not used by OUTPUT(*PRINT) +
                          or (*CSV).')
