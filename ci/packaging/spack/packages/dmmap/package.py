# Spack package of dmmap. Add this repository with
#   spack repo add ci/packaging/spack
# then install from a checkout (the project has no public home yet):
#   spack develop --path /path/to/dmmap dmmap@main && spack install dmmap
# Checked by ci/packaging/tests/spack-package (variants against the project's
# CMake options, dependencies against its find_package calls).
from spack.package import *


class Dmmap(CMakePackage):
    """Conformance and benchmark suite for distributed mmap: when processes on
    several nodes map one file of a cluster filesystem, does it behave like one
    machine would, and how fast? dmmap-conform and dmmap-bench run under
    mpirun/srun against any mounted filesystem; dmfsd is the server of the dmfs
    reference filesystem."""

    homepage = "https://dmmap.invalid"
    git = "https://dmmap.invalid/dmmap.git"

    version("main", branch="main")

    variant(
        "kmod",
        default=False,
        description="Build the dmfs kernel module against the running kernel's headers "
        "(sites usually let DKMS build it: Debian package dmfs-dkms)",
    )

    depends_on("cmake@3.25:", type="build")
    depends_on("pkgconfig", type="build")
    depends_on("mpi")
    depends_on("hwloc")
    depends_on("fmt")
    depends_on("benchmark")
    # dmmap-certify: the INI configuration and the SHA-256 of the result files.
    depends_on("libinih")
    depends_on("openssl")
    # The conformance checks are GoogleTest tests: a link dependency, not test-only.
    depends_on("googletest")

    def cmake_args(self):
        return [self.define_from_variant("DMMAP_KMOD", "kmod")]
