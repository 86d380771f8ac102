/* The lookup of proxy/lists/packed.py in C: the same walk, the same answers, ~10x faster.
 *
 * packed.lookup runs for every host the proxy has not decided this minute, and its Python loop
 * (a CRC, a Bloom probe and a slice per suffix) was a third of a cold decision. This module is
 * optional: when it is not built (no compiler), packed.py's own Python walk runs instead, and
 * tests/unit/lists/test_walk.py holds the two to the same answers.
 *
 * Table(hashes, masks, palette, buckets, bloom) holds the buffers of one Packed table (arrays,
 * or views of the mapped index file) for as long as it lives; lookup(tables, small, host) ORs
 * the masks of the entries of every table, and of `small` (a dict CRC-32 -> ((hash, mask), ...)
 * or None), covering `host`.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static uint32_t crc_table[256];

static void
crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

/* zlib.crc32 of s[0:n] */
static inline uint32_t
crc32_fwd(const unsigned char *s, Py_ssize_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (Py_ssize_t i = 0; i < n; i++)
        c = crc_table[(c ^ s[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

/* zlib.crc32 of s[0:n][::-1] */
static inline uint32_t
crc32_rev(const unsigned char *s, Py_ssize_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (Py_ssize_t i = n - 1; i >= 0; i--)
        c = crc_table[(c ^ s[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

typedef struct {
    PyObject_HEAD
    Py_buffer hashes, masks, buckets, bloom;
    int have_hashes, have_masks, have_buckets, have_bloom;
    uint64_t *palette; /* the masks, when every one fits in 64 bits */
    Py_ssize_t n, npalette, nbits;
    int mask_width;
} Table;

static void
Table_dealloc(Table *self)
{
    if (self->have_hashes) PyBuffer_Release(&self->hashes);
    if (self->have_masks) PyBuffer_Release(&self->masks);
    if (self->have_buckets) PyBuffer_Release(&self->buckets);
    if (self->have_bloom) PyBuffer_Release(&self->bloom);
    PyMem_Free(self->palette);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
get(PyObject *o, Py_buffer *b, int *have, Py_ssize_t itemsize, const char *what)
{
    if (PyObject_GetBuffer(o, b, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return -1;
    *have = 1;
    if (b->itemsize != itemsize) {
        PyErr_Format(PyExc_ValueError, "%s: items of %zd bytes, not %zd", what, b->itemsize,
                     itemsize);
        return -1;
    }
    return 0;
}

static int
Table_init(Table *self, PyObject *args, PyObject *kw)
{
    (void)kw;
    PyObject *hashes, *masks, *palette, *buckets, *bloom;
    if (!PyArg_ParseTuple(args, "OOO!OO", &hashes, &masks, &PyTuple_Type, &palette, &buckets,
                          &bloom))
        return -1;
    if (self->have_hashes || self->palette) {
        PyErr_SetString(PyExc_TypeError, "Table is built once");
        return -1;
    }
    if (get(hashes, &self->hashes, &self->have_hashes, 8, "hashes") < 0) return -1;
    if (PyObject_GetBuffer(masks, &self->masks, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return -1;
    self->have_masks = 1;
    self->mask_width = (int)self->masks.itemsize;
    if (self->mask_width != 1 && self->mask_width != 2) {
        PyErr_SetString(PyExc_ValueError, "masks: items of 1 or 2 bytes");
        return -1;
    }
    if (get(buckets, &self->buckets, &self->have_buckets, 4, "buckets") < 0) return -1;
    if (get(bloom, &self->bloom, &self->have_bloom, 1, "bloom") < 0) return -1;
    if ((uintptr_t)self->hashes.buf % 8 || (uintptr_t)self->buckets.buf % 4 ||
        (uintptr_t)self->masks.buf % self->mask_width) {
        PyErr_SetString(PyExc_ValueError, "the arrays are not aligned");
        return -1;
    }
    self->n = self->hashes.len / 8;
    if (self->masks.len / self->mask_width != self->n) {
        PyErr_SetString(PyExc_ValueError, "one mask per hash");
        return -1;
    }
    if (self->buckets.len / 4 != 65537) {
        PyErr_SetString(PyExc_ValueError, "buckets: 65,537 of them");
        return -1;
    }
    self->nbits = self->bloom.len * 8;
    if (self->nbits == 0) {
        PyErr_SetString(PyExc_ValueError, "an empty Bloom filter");
        return -1;
    }
    self->npalette = PyTuple_GET_SIZE(palette);
    self->palette = PyMem_Calloc(self->npalette ? self->npalette : 1, sizeof(uint64_t));
    if (!self->palette) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < self->npalette; i++) {
        unsigned long long v = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(palette, i));
        if (v == (unsigned long long)-1 && PyErr_Occurred())
            return -1; /* not an int of 64 bits: the caller walks in Python */
        self->palette[i] = v;
    }
    /* Every bucket's bounds within the table, and every mask within the palette: checked once
     * here, so that a lookup never reads outside a buffer whatever the file held. */
    const uint32_t *bk = self->buckets.buf;
    for (Py_ssize_t t = 0; t < 65537; t++)
        if (bk[t] > (uint64_t)self->n || (t && bk[t] < bk[t - 1])) {
            PyErr_SetString(PyExc_ValueError, "buckets out of order");
            return -1;
        }
    for (Py_ssize_t i = 0; i < self->n; i++) {
        Py_ssize_t p = self->mask_width == 1 ? ((const uint8_t *)self->masks.buf)[i]
                                             : ((const uint16_t *)self->masks.buf)[i];
        if (p >= self->npalette) {
            PyErr_SetString(PyExc_ValueError, "a mask outside the palette");
            return -1;
        }
    }
    return 0;
}

static PyTypeObject TableType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "vaccine.proxy.lists.cwalk.Table",
    .tp_basicsize = sizeof(Table),
    .tp_dealloc = (destructor)Table_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Table(hashes, masks, palette, buckets, bloom): one packed table, held.",
    .tp_init = (initproc)Table_init,
    .tp_new = PyType_GenericNew,
};

static inline uint64_t
probe(const Table *t, uint32_t crc, const unsigned char *s, Py_ssize_t len, int64_t *rev)
{
    uint64_t bit = crc % (uint64_t)t->nbits;
    const unsigned char *bloom = t->bloom.buf;
    if (!((bloom[bit >> 3] >> (bit & 7)) & 1))
        return 0;
    if (*rev < 0)
        *rev = crc32_rev(s, len) >> 8;
    uint64_t h = (uint64_t)crc << 24 | (uint64_t)*rev;
    const uint32_t *bk = t->buckets.buf;
    const uint64_t *hs = t->hashes.buf;
    Py_ssize_t lo = bk[crc >> 16], hi = bk[(crc >> 16) + 1];
    while (lo < hi) { /* bisect_left */
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (hs[mid] < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < (Py_ssize_t)bk[(crc >> 16) + 1] && hs[lo] == h) {
        Py_ssize_t p = t->mask_width == 1 ? ((const uint8_t *)t->masks.buf)[lo]
                                          : ((const uint16_t *)t->masks.buf)[lo];
        return t->palette[p];
    }
    return 0;
}

/* packed.is_address for a normalised host */
static int
is_address(const unsigned char *s, Py_ssize_t n)
{
    if (memchr(s, ':', n))
        return 1;
    if (n == 0 || s[n - 1] < '0' || s[n - 1] > '9')
        return 0;
    for (Py_ssize_t i = n - 1; i >= 0 && s[i] != '.'; i--)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int
check_tables(PyObject *tables, PyObject **small)
{
    if (!PyTuple_Check(tables)) {
        PyErr_SetString(PyExc_TypeError, "tables: a tuple of Table");
        return -1;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(tables); i++)
        if (!PyObject_TypeCheck(PyTuple_GET_ITEM(tables, i), &TableType)) {
            PyErr_SetString(PyExc_TypeError, "tables: a tuple of Table");
            return -1;
        }
    if (*small != Py_None && !PyDict_Check(*small)) {
        PyErr_SetString(PyExc_TypeError, "small: a dict or None");
        return -1;
    }
    if (*small != Py_None && PyDict_GET_SIZE(*small) == 0)
        *small = Py_None;
    return 0;
}

/* The masks of every table's and small's entry for the name s[0:n], OR-ed into *m (or into
 * *extra, a Python int, for a mask of `small` wider than 64 bits). */
static int
probe_all(PyObject *tables, PyObject *small, const unsigned char *s, Py_ssize_t n, uint64_t *m,
          PyObject **extra)
{
    uint32_t crc = crc32_fwd(s, n);
    int64_t rev = -1;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(tables); i++)
        *m |= probe((const Table *)PyTuple_GET_ITEM(tables, i), crc, s, n, &rev);
    if (small == Py_None)
        return 0;
    PyObject *key = PyLong_FromUnsignedLong(crc);
    if (!key)
        return -1;
    PyObject *entries = PyDict_GetItemWithError(small, key); /* borrowed */
    Py_DECREF(key);
    if (!entries)
        return PyErr_Occurred() ? -1 : 0;
    if (rev < 0)
        rev = crc32_rev(s, n) >> 8;
    uint64_t h = (uint64_t)crc << 24 | (uint64_t)rev;
    PyObject *seq = PySequence_Fast(entries, "small: tuples of (hash, mask)");
    if (!seq)
        return -1;
    for (Py_ssize_t j = 0; j < PySequence_Fast_GET_SIZE(seq); j++) {
        PyObject *pair = PySequence_Fast_GET_ITEM(seq, j);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
            Py_DECREF(seq);
            PyErr_SetString(PyExc_TypeError, "small: tuples of (hash, mask)");
            return -1;
        }
        unsigned long long eh = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(pair, 0));
        if (eh == (unsigned long long)-1 && PyErr_Occurred()) {
            Py_DECREF(seq);
            return -1;
        }
        if (eh != h)
            continue;
        PyObject *mask = PyTuple_GET_ITEM(pair, 1);
        PyObject *acc = *extra ? PyNumber_Or(*extra, mask) : Py_NewRef(mask);
        if (!acc) {
            Py_DECREF(seq);
            return -1;
        }
        Py_XSETREF(*extra, acc);
    }
    Py_DECREF(seq);
    return 0;
}

/* *m, with *extra OR-ed in, as a Python int; *extra released. */
static PyObject *
mask_of(uint64_t m, PyObject **extra)
{
    PyObject *out = PyLong_FromUnsignedLongLong(m);
    if (out && *extra)
        Py_SETREF(out, PyNumber_Or(out, *extra));
    Py_CLEAR(*extra);
    return out;
}

/* The arguments every walk starts from: the tables and `small` (checked), and the host as
 * UTF-8. NULL (an exception set) when they are not what the module takes. */
static const unsigned char *
walk_args(PyObject *tables, PyObject **small, PyObject *host, Py_ssize_t *n)
{
    if (check_tables(tables, small) < 0)
        return NULL;
    return (const unsigned char *)PyUnicode_AsUTF8AndSize(host, n);
}

static PyObject *
lookup(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "lookup(tables, small, host)");
        return NULL;
    }
    PyObject *tables = args[0], *small = args[1];
    Py_ssize_t n;
    const unsigned char *s = walk_args(tables, &small, args[2], &n);
    if (!s)
        return NULL;
    uint64_t m = 0;
    PyObject *extra = NULL;
    int address = is_address(s, n);
    const unsigned char *dot = address ? s : memchr(s, '.', n);
    while (dot) {
        if (probe_all(tables, small, s, n, &m, &extra) < 0) {
            Py_XDECREF(extra);
            return NULL;
        }
        if (address)
            break;
        Py_ssize_t skip = dot - s + 1;
        s += skip;
        n -= skip;
        dot = memchr(s, '.', n);
    }
    return mask_of(m, &extra);
}

/* walk(tables, small, url_any, host) -> (mask, url mask, suffixes or None): `lookup`, the OR of
 * url_any's masks (a dict name -> int, or None) over the same names, and the host's suffixes
 * as proxy.hosts.host_suffixes gives them (None for an address: the caller asks host_suffixes),
 * in one walk. The suffixes are the str objects url_any was probed with, their hashes
 * computed once for every rule after. */
static PyObject *
walk(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "walk(tables, small, url_any, host)");
        return NULL;
    }
    PyObject *tables = args[0], *small = args[1], *url_any = args[2], *host_obj = args[3];
    if (url_any != Py_None && !PyDict_Check(url_any)) {
        PyErr_SetString(PyExc_TypeError, "url_any: a dict or None");
        return NULL;
    }
    if (url_any != Py_None && PyDict_GET_SIZE(url_any) == 0)
        url_any = Py_None;
    Py_ssize_t n;
    const unsigned char *s = walk_args(tables, &small, host_obj, &n);
    if (!s)
        return NULL;
    uint64_t m = 0, u = 0;
    PyObject *extra = NULL, *uextra = NULL, *names = NULL, *name = NULL, *out = NULL;
    int address = is_address(s, n);
    if (!address && !(names = PyList_New(0)))
        goto done;
    name = Py_NewRef(host_obj);
    const unsigned char *dot = address ? s : memchr(s, '.', n);
    for (;;) {
        if (names && PyList_Append(names, name) < 0)
            goto done;
        if (!dot)
            break; /* the bare top-level label: a suffix, never looked up */
        if (probe_all(tables, small, s, n, &m, &extra) < 0)
            goto done;
        if (url_any != Py_None) {
            PyObject *um = PyDict_GetItemWithError(url_any, name); /* borrowed */
            if (!um && PyErr_Occurred())
                goto done;
            if (um) {
                unsigned long long v = PyLong_AsUnsignedLongLong(um);
                if (v == (unsigned long long)-1 && PyErr_Occurred()) {
                    if (!PyErr_ExceptionMatches(PyExc_OverflowError))
                        goto done;
                    PyErr_Clear();
                    PyObject *acc = uextra ? PyNumber_Or(uextra, um) : Py_NewRef(um);
                    if (!acc)
                        goto done;
                    Py_XSETREF(uextra, acc);
                } else {
                    u |= v;
                }
            }
        }
        if (address)
            break;
        Py_ssize_t skip = dot - s + 1;
        s += skip;
        n -= skip;
        dot = memchr(s, '.', n);
        Py_SETREF(name, PyUnicode_FromStringAndSize((const char *)s, n));
        if (!name)
            goto done;
    }
    PyObject *mo = mask_of(m, &extra);
    PyObject *uo = mo ? mask_of(u, &uextra) : NULL;
    PyObject *so = uo ? (names ? PyList_AsTuple(names) : Py_NewRef(Py_None)) : NULL;
    if (so)
        out = PyTuple_Pack(3, mo, uo, so);
    Py_XDECREF(mo);
    Py_XDECREF(uo);
    Py_XDECREF(so);
done:
    Py_XDECREF(name);
    Py_XDECREF(names);
    Py_XDECREF(extra);
    Py_XDECREF(uextra);
    return out;
}

static PyMethodDef methods[] = {
    {"lookup", (PyCFunction)(void (*)(void))lookup, METH_FASTCALL,
     "lookup(tables, small, host) -> int: the OR of the masks of every entry covering host."},
    {"walk", (PyCFunction)(void (*)(void))walk, METH_FASTCALL,
     "walk(tables, small, url_any, host) -> (mask, url mask, suffixes or None)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "cwalk", "packed.lookup in C (see proxy/lists/cwalk.c).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit_cwalk(void)
{
    crc_init();
    if (PyType_Ready(&TableType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m)
        return NULL;
    if (PyModule_AddObjectRef(m, "Table", (PyObject *)&TableType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
