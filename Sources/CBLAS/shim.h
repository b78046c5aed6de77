// The system CBLAS interface: Debian's libopenblas-dev or libblas-dev (cblas.h via alternatives).
#include <cblas.h>
