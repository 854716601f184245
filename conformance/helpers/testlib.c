/* The shared library exec.run copies onto the filesystem and dlopen()s on
 * every client: read-only code and data plus a writable data segment. */
static int counter = 41;                    /* .data: must be privately writable in each process */
static const char name[] = "dmmap-testlib"; /* .rodata */

int dmmap_testlib_bump(void) { return ++counter; }
const char* dmmap_testlib_name(void) { return name; }
