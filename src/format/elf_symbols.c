/*
 * ELF parser, part 3: symbol tables. Defined symbols of .symtab and .dynsym become the model's
 * symbols, deduplicated by name and address (a shared object lists its exports in both). With
 * section headers the tables are found through them; without (stripped headers), through the
 * dynamic table, the dynamic symbol count coming from the SysV or GNU hash table. Exports and
 * imports of the dynamic symbol table are in elf_imports.c.
 */
#include <stdlib.h>
#include <string.h>

#include "format/elf_impl.h"
#include "util/err.h"
#include "util/limits.h"

#define SYM32_SIZE 16u
#define SYM64_SIZE 24u

bool strain_elf__read_sym(const elf_parser *p, const elf_symtab *t, uint64_t i, elf_sym *s)
{
    uint64_t o = i * t->ent;
    uint8_t info = 0;
    bool ok;
    if (p->is64) {
        ok = elf_u32(p, t->data, o, &s->name) && strain_span_u8(t->data, o + 4, &info) &&
             elf_u16(p, t->data, o + 6, &s->shndx) && elf_u64(p, t->data, o + 8, &s->value) &&
             elf_u64(p, t->data, o + 16, &s->size);
    } else {
        uint32_t v = 0, sz = 0;
        ok = elf_u32(p, t->data, o, &s->name) && elf_u32(p, t->data, o + 4, &v) &&
             elf_u32(p, t->data, o + 8, &sz) && strain_span_u8(t->data, o + 12, &info) &&
             elf_u16(p, t->data, o + 14, &s->shndx);
        s->value = v;
        s->size = sz;
    }
    s->type = info & 0xf;
    s->bind = info >> 4;
    return ok;
}

/* Clips a table to whole entries in the file and to the symbol cap, warning on each. */
static int fit_table(elf_parser *p, elf_symtab *t, uint64_t want)
{
    uint64_t fit = t->data.len / t->ent;
    int err = STRAIN_OK;
    if (want > fit) {
        STRAIN_TRY(strain_binary__warn(p->bin, "%s: %llu symbols declared, %llu in the file",
                                       t->what, (unsigned long long)want, (unsigned long long)fit));
        want = fit;
    }
    if (want > STRAIN_ELF_MAX_SYMBOLS) {
        STRAIN_TRY(strain_binary__warn(p->bin, "%s: %llu symbols, only the first %u are read",
                                       t->what, (unsigned long long)want, STRAIN_ELF_MAX_SYMBOLS));
        want = STRAIN_ELF_MAX_SYMBOLS;
    }
    t->count = want;
done:
    return err;
}

/* A symbol table section and its linked string table. */
static int section_table(elf_parser *p, size_t idx, const char *what, elf_symtab *t)
{
    const elf_shdr *s = &p->shdr[idx];
    uint64_t std = p->is64 ? SYM64_SIZE : SYM32_SIZE;
    memset(t, 0, sizeof(*t));
    t->what = what;
    t->ent = s->entsize >= std ? s->entsize : std;
    if (s->entsize != 0 && s->entsize < std) {
        return strain_binary__warn(p->bin, "%s: entry size %llu too small", what,
                                   (unsigned long long)s->entsize);
    }
    if (!strain_span_sub(p->f, s->offset, s->size, &t->data) &&
        !strain_span_tail(p->f, s->offset, &t->data)) {
        return strain_binary__warn(p->bin, "%s lies outside the file", what);
    }
    if (s->link < p->n_shdr && p->shdr[s->link].type != ELF_SHT_NOBITS) {
        const elf_shdr *st = &p->shdr[s->link];
        if (!strain_span_sub(p->f, st->offset, st->size, &t->strtab) &&
            !strain_span_tail(p->f, st->offset, &t->strtab)) {
            t->strtab = strain_span_make(NULL, 0);
        }
    }
    if (t->strtab.len == 0) {
        int err = strain_binary__warn(p->bin, "%s: string table missing or outside the file", what);
        if (err < 0) {
            return err;
        }
    }
    return fit_table(p, t, s->size / t->ent);
}

/* nchain of a SysV hash table equals the number of symbols. */
static bool count_from_hash(elf_parser *p, uint64_t *out)
{
    strain_span h;
    uint32_t nchain;
    if (!strain_elf__dyn_span(p, &p->hash, &h) || !elf_u32(p, h, 4, &nchain)) {
        return false;
    }
    *out = nchain;
    return true;
}

/*
 * A GNU hash table has no count: the highest symbol index is found by following the chain of
 * the largest bucket to its end marker (low bit set).
 */
static bool count_from_gnu_hash(elf_parser *p, uint64_t *out)
{
    strain_span h;
    uint32_t nbuckets, symoffset, bloom;
    if (!strain_elf__dyn_span(p, &p->gnu_hash, &h) || !elf_u32(p, h, 0, &nbuckets) ||
        !elf_u32(p, h, 4, &symoffset) || !elf_u32(p, h, 8, &bloom)) {
        return false;
    }
    uint64_t buckets = 16 + (uint64_t)bloom * (p->is64 ? 8 : 4);
    uint64_t chains = buckets + (uint64_t)nbuckets * 4;
    if (!strain_span_has(h, buckets, (uint64_t)nbuckets * 4)) {
        return false;
    }
    uint32_t max = 0;
    for (uint32_t i = 0; i < nbuckets; i++) {
        uint32_t b = 0;
        elf_u32(p, h, buckets + (uint64_t)i * 4, &b);
        max = b > max ? b : max;
    }
    if (max < symoffset) {
        *out = symoffset;
        return true;
    }
    for (uint64_t i = max; i - max < STRAIN_ELF_MAX_SYMBOLS; i++) {
        uint32_t c;
        if (!elf_u32(p, h, chains + (i - symoffset) * 4, &c)) {
            return false;
        }
        if (c & 1) {
            *out = i + 1;
            return true;
        }
    }
    return false;
}

/* The dynamic symbol table: the SHT_DYNSYM section, else DT_SYMTAB sized by a hash table. */
static int find_dynsym(elf_parser *p, elf_symtab *t, size_t *sec)
{
    *sec = 0;
    for (size_t i = 1; i < p->n_shdr; i++) {
        if (p->shdr[i].type == ELF_SHT_DYNSYM) {
            *sec = i;
            return section_table(p, i, ".dynsym", t);
        }
    }
    memset(t, 0, sizeof(*t));
    t->what = "dynamic symbol table";
    if (!p->symtab.present) {
        return STRAIN_OK;
    }
    uint64_t std = p->is64 ? SYM64_SIZE : SYM32_SIZE;
    t->ent = p->syment >= std ? p->syment : std;
    elf_dyn_table st = p->symtab;
    st.size = 0;
    if (!strain_elf__dyn_span(p, &st, &t->data)) {
        return strain_binary__warn(p->bin, "DT_SYMTAB 0x%llx is not backed by the file",
                                   (unsigned long long)p->symtab.va);
    }
    t->strtab = p->dynstr;
    uint64_t n;
    if (!count_from_hash(p, &n) && !count_from_gnu_hash(p, &n)) {
        /* Linkers place .dynstr right after .dynsym; failing that, read to the segment end. */
        n = t->data.len / t->ent;
        if (p->strtab.present && p->strtab.va > p->symtab.va &&
            (p->strtab.va - p->symtab.va) / t->ent < n) {
            n = (p->strtab.va - p->symtab.va) / t->ent;
        }
        int err = strain_binary__warn(p->bin,
                                      "no usable hash table: dynamic symbol count "
                                      "estimated at %llu",
                                      (unsigned long long)n);
        if (err < 0) {
            return err;
        }
    }
    return fit_table(p, t, n);
}

/* Open-addressing set of (name, address) over the symbol vector, for deduplication. */
typedef struct sym_set {
    uint32_t *slot; /* index + 1, 0 = empty */
    size_t mask;
} sym_set;

static uint64_t sym_hash(const char *name, uint64_t addr)
{
    uint64_t h = 1469598103934665603ull ^ addr;
    for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
        h = (h ^ *c) * 1099511628211ull;
    }
    return h ^ (h >> 29);
}

/* True when (name, addr) was new (and records it as index idx). */
static bool sym_set_add(sym_set *set, const strain_vec *v, const char *name, uint64_t addr,
                        size_t idx)
{
    size_t i = (size_t)sym_hash(name, addr) & set->mask;
    for (;; i = (i + 1) & set->mask) {
        uint32_t s = set->slot[i];
        if (s == 0) {
            set->slot[i] = (uint32_t)idx + 1;
            return true;
        }
        const strain_symbol *o = STRAIN_VEC_AT(v, strain_symbol, s - 1);
        if (o->address == addr && strcmp(o->name, name) == 0) {
            return false;
        }
    }
}

int strain_elf__sym_name_warn(elf_parser *p, const elf_symtab *t, uint64_t i, uint32_t off)
{
    return strain_binary__warn(p->bin, "%s: symbol %llu name offset 0x%x out of range", t->what,
                               (unsigned long long)i, off);
}

static int add_symbols(elf_parser *p, const elf_symtab *t, sym_set *set)
{
    strain_binary *b = p->bin;
    int err = STRAIN_OK;
    for (uint64_t i = 1; i < t->count; i++) {
        elf_sym s;
        if (!strain_elf__read_sym(p, t, i, &s)) {
            break;
        }
        if (s.shndx == ELF_SHN_UNDEF || s.type == ELF_STT_SECTION || s.type == ELF_STT_FILE ||
            s.name == 0) {
            continue;
        }
        const char *name = NULL;
        STRAIN_TRY(strain_elf__str(p, t->strtab, s.name, t->what, &name));
        if (name == NULL) {
            STRAIN_TRY(strain_elf__sym_name_warn(p, t, i, s.name));
            continue;
        }
        if (name[0] == '\0') {
            continue;
        }
        if (!sym_set_add(set, &b->symbols, name, s.value, b->symbols.len)) {
            continue;
        }
        strain_symbol *o = strain_vec_push(&b->symbols);
        if (o == NULL) {
            return STRAIN_ENOMEM;
        }
        o->name = name;
        o->address = s.value;
        o->size = s.size;
        o->is_function = s.type == ELF_STT_FUNC || s.type == ELF_STT_GNU_IFUNC;
    }
done:
    return err;
}

int strain_elf__parse_symbols(elf_parser *p)
{
    int err = STRAIN_OK;
    elf_symtab dyn, tabs[4];
    size_t n_tabs = 0, dynsym_sec = 0;
    sym_set set = {NULL, 0};
    STRAIN_TRY(find_dynsym(p, &dyn, &dynsym_sec));
    for (size_t i = 1; i < p->n_shdr && n_tabs < 4; i++) {
        if (p->shdr[i].type == ELF_SHT_SYMTAB) {
            STRAIN_TRY(section_table(p, i, ".symtab", &tabs[n_tabs]));
            n_tabs++;
        }
    }
    uint64_t total = dyn.count;
    for (size_t i = 0; i < n_tabs; i++) {
        total += tabs[i].count;
    }
    if (total > 0) {
        size_t cap = 16;
        while (cap < total * 2) {
            cap *= 2;
        }
        set.slot = calloc(cap, sizeof(uint32_t));
        if (set.slot == NULL) {
            return STRAIN_ENOMEM;
        }
        set.mask = cap - 1;
    }
    for (size_t i = 0; i < n_tabs; i++) {
        STRAIN_TRY(add_symbols(p, &tabs[i], &set));
    }
    if (dyn.count > 0) {
        STRAIN_TRY(add_symbols(p, &dyn, &set));
        STRAIN_TRY(strain_elf__imports_exports(p, &dyn, dynsym_sec));
    }
done:
    free(set.slot);
    return err;
}
