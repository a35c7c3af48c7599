/*
 * drivetls.c - bench/drive.c with its TLS client (-S, -I): link with
 * libtls, statically when it can be (see drive.c, and bench/run).
 */
#define DRIVE_TLS 1
#include "drive.c"
