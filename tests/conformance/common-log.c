/* SPDX-License-Identifier: MIT */
/*
 * Conformance suite: the name log, shared by every process forked from main(),
 * and new_name(), which takes every name a test uses from it.  See common.h.
 */
#include "common.h"

/* ------------------------------------------------------------------ */
/* The name log: shared by every process forked from main().           */

struct name_log *name_log;
char prefix[24];          /* "u<main pid>x" */
mode_t saved_umask;
unsigned long swept_upto; /* main process only */
unsigned leaks;           /* main process only */
int dummy_byte;

unsigned long log_reserve(void)
{
    unsigned long n = __atomic_fetch_add(&name_log->next, 1, __ATOMIC_SEQ_CST);

    if (n >= LOG_MAX)
        __atomic_store_n(&name_log->overflow, 1, __ATOMIC_SEQ_CST);
    return n;
}

void log_fill(unsigned long n, const char *name, const char *who)
{
    struct log_entry *e;

    if (n >= LOG_MAX)
        return;
    e = &name_log->e[n];
    e->pid = getpid();
    snprintf(e->name, sizeof e->name, "%s", name);
    snprintf(e->who, sizeof e->who, "%s", who);
    __atomic_store_n(&e->ready, 1, __ATOMIC_RELEASE);
}

/*
 * A fresh name "/<prefix><pid>_<n><suffix>", logged for the sweep.  With
 * body_len, the part after the slash is padded with 'z' to exactly that
 * length (the caller checks it could be).
 */
char *new_name_(char *buf, size_t len, const char *suffix,
                size_t body_len, const char *who)
{
    unsigned long n = log_reserve();
    size_t k;

    snprintf(buf, len, "/%s%ld_%lu%s", prefix, (long)getpid(), n, suffix);
    k = strlen(buf);
    while (body_len && k < body_len + 1 && k + 1 < len)
        buf[k++] = 'z';
    buf[k] = '\0';
    log_fill(n, buf, who);
    return buf;
}
