// SPDX-License-Identifier: GPL-2.0
/*
 * The shared library of tests/fault-recovery.sh's "library" case, built
 * twice with VERSION 1 and 2: the same layout, f1 and f2 on pages of their
 * own, only the values returned differ.
 */
__attribute__((aligned(4096))) int dmfs_libver_f1(void)
{
	return VERSION;
}

__attribute__((aligned(4096))) int dmfs_libver_f2(void)
{
	return VERSION * 10;
}
