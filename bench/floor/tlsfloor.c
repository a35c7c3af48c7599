/*
 * tlsfloor.c - the TLS floor for bench/run: floor.c with libtls
 * (STARTTLS, or implicit TLS with -i).  Usage: tlsfloor [-i] CERT KEY
 * QUEUE.  Link with -ltls.
 */
#define FLOOR_TLS 1
#include "floor.c"
