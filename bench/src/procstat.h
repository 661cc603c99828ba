/* cg-load: sampling another process (the server under test) from /proc. */
#ifndef CG_PROCSTAT_H
#define CG_PROCSTAT_H

/* utime+stime of pid in seconds; -1 if unreadable */
double cg_proc_cpu_s(long pid);
/* VmRSS and VmHWM in kB; 0 on success */
int cg_proc_mem_kb(long pid, long *rss_kb, long *hwm_kb);

#endif
