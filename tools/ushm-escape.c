/* SPDX-License-Identifier: MIT */
/*
 * Names come from other programs and may hold any byte: the printable form
 * of a string for text, JSON and the shell.
 */
#define _POSIX_C_SOURCE 200809L

/* First, before any system header: AC_SYS_LARGEFILE's _FILE_OFFSET_BITS,
 * so that a 32-bit build describes objects of 2 GiB and more. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ushm-tool.h"

/* Length of the well-formed UTF-8 sequence at p (RFC 3629), or 0. */
static int utf8_length(const unsigned char *p)
{
    unsigned char lo = 0x80, hi = 0xbf;
    int n;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        n = 2;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        n = 3;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        n = 4;
    else
        return 0;
    /* No overlong forms, no surrogates, nothing above U+10FFFF. */
    if (p[0] == 0xe0)
        lo = 0xa0;
    else if (p[0] == 0xed)
        hi = 0x9f;
    else if (p[0] == 0xf0)
        lo = 0x90;
    else if (p[0] == 0xf4)
        hi = 0x8f;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (int k = 2; k < n; k++)
        if ((p[k] & 0xc0) != 0x80)
            return 0;
    return n;
}

/* A C0 or C1 control character or DEL, as a sequence of n bytes at p. */
static int is_control(const unsigned char *p, int n)
{
    if (n == 1)
        return p[0] < 0x20 || p[0] == 0x7f;
    return n == 2 && p[0] == 0xc2 && p[1] < 0xa0;
}

/* The printable form of s for text output: control characters, C1 controls
 * and bytes that are not UTF-8 become \xHH, and a backslash becomes \\, so
 * that the escaped form is unambiguous.  Returns a malloc'd string. */
char *text_escape(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    char *out = malloc(strlen(s) * 8 + 1), *q = out;

    if (!out)
        return NULL;
    while (*p) {
        int n = utf8_length(p);

        if (n == 0 || is_control(p, n)) {
            for (int k = 0; k < (n ? n : 1); k++)
                q += sprintf(q, "\\x%02x", p[k]);
            p += n ? n : 1;
            continue;
        }
        if (*p == '\\')
            *q++ = '\\';
        memcpy(q, p, (size_t)n);
        q += n;
        p += n;
    }
    *q = '\0';
    return out;
}

/* Columns are as wide as their widest cell, in characters (code points). */
size_t display_width(const char *s)
{
    size_t w = 0;

    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

/* A JSON string: quotes, backslashes and control characters (C1 and DEL
 * too) escaped; bytes that are not UTF-8 replaced by U+FFFD. */
void json_string(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    fputc('"', f);
    while (*p) {
        int n = utf8_length(p);

        if (n == 0) {
            fputs("\\ufffd", f);
            p++;
            continue;
        }
        if (is_control(p, n))
            fprintf(f, "\\u%04x", n == 1 ? p[0] : p[1]);
        else if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else
            fwrite(p, 1, (size_t)n, f);
        p += n;
    }
    fputc('"', f);
}

/* s quoted for a POSIX shell, or for bash's $'...' when it holds bytes that
 * text output would escape, so the command can be pasted as it is shown. */
void shell_quote(const char *s, char *out, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    int plain = 1, printable = 1;
    size_t o = 0;

    for (const unsigned char *c = p; *c; c++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                    "0123456789._/-+,:=@%", *c))
            plain = 0;
    for (const unsigned char *c = p; *c;) {
        int n = utf8_length(c);

        if (n == 0 || is_control(c, n) || *c == '\'' || *c == '\\')
            printable = 0;
        c += n ? n : 1;
    }
    if (plain) {
        snprintf(out, len, "%s", s);
        return;
    }
    if (printable) {
        snprintf(out, len, "'%s'", s);
        return;
    }
    o += (size_t)snprintf(out, len, "$'");
    while (*p && o + 6 < len) {
        int n = utf8_length(p);

        if (n == 0 || is_control(p, n)) {
            o += (size_t)snprintf(out + o, len - o, "\\x%02x", *p);
            p++;
            continue;
        }
        if (*p == '\'' || *p == '\\')
            out[o++] = '\\';
        memcpy(out + o, p, (size_t)n);
        o += (size_t)n;
        p += n;
    }
    snprintf(out + o, len - o, "'");
}
