// zlib, for reading the gzip-compressed IDX files of (Fashion-)MNIST. Nothing else belongs here.
#include <zlib.h>
