/*
 * ELF parser, part 3: symbol tables. Defined symbols of .symtab and .dynsym become the model's
 * symbols (deduplicated by name and address: a shared object lists its exports in both).
 * The dynamic symbol table also gives exports (defined global/weak functions and objects) and
 * imports (undefined symbols). An import's library comes from symbol versioning (.gnu.version
 * indexes .gnu.version_r, whose entries name the file), since ELF symbols are otherwise not
 * bound to a library; its address is the GOT slot its JUMP_SLOT/GLOB_DAT relocation fills,
 * which is what a PLT stub or a -fno-plt call reads, so code analysis can name the call.
 *
 * With section headers the tables are found through them; without (stripped headers), through
 * the dynamic table, the symbol count coming from the SysV or GNU hash table.
 */
#include <stdlib.h>
#include <string.h>

#include "format/elf_impl.h"
#include "util/err.h"
#include "util/limits.h"

#define SYM32_SIZE 16u
#define SYM64_SIZE 24u
#define STT_OBJECT 1u
#define STT_FUNC 2u
#define STT_SECTION 3u
#define STT_FILE 4u
#define STT_GNU_IFUNC 10u
#define STB_LOCAL 0u
#define STB_GLOBAL 1u
#define STB_WEAK 2u
#define STB_GNU_UNIQUE 10u
#define SHN_UNDEF 0u

#define VERSYM_HIDDEN 0x8000u
#define VER_NDX_GLOBAL 1u

#define EM_SPARC 2u
#define EM_MIPS 8u
#define EM_S390 22u
#define EM_SPARCV9 43u
#define EM_RISCV 243u

/* A located symbol table. */
typedef struct sym_table {
    strain_span data;
    uint64_t ent;
    uint64_t count;
    strain_span strtab;
    const char *what; /* for warnings */
} sym_table;

typedef struct elf_sym {
    uint32_t name;
    uint8_t type, bind;
    uint16_t shndx;
    uint64_t value, size;
} elf_sym;

static bool read_sym(const elf_parser *p, const sym_table *t, uint64_t i, elf_sym *s)
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
static int fit_table(elf_parser *p, sym_table *t, uint64_t want)
{
    uint64_t fit = t->data.len / t->ent;
    int err = STRAIN_OK;
    if (want > fit) {
        STRAIN_TRY(strain_binary__warn(p->bin, "%s: %llu symbols declared, %llu in the file",
                                       t->what, (unsigned long long)want,
                                       (unsigned long long)fit));
        want = fit;
    }
    if (want > STRAIN_ELF_MAX_SYMBOLS) {
        STRAIN_TRY(strain_binary__warn(p->bin, "%s: %llu symbols, only the first %u are read",
                                       t->what, (unsigned long long)want,
                                       STRAIN_ELF_MAX_SYMBOLS));
        want = STRAIN_ELF_MAX_SYMBOLS;
    }
    t->count = want;
done:
    return err;
}

/* A symbol table section and its linked string table. */
static int section_table(elf_parser *p, size_t idx, const char *what, sym_table *t)
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
        int err = strain_binary__warn(p->bin, "%s: string table missing or outside the file",
                                      what);
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
static int find_dynsym(elf_parser *p, sym_table *t, size_t *sec)
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
        int err = strain_binary__warn(p->bin, "no usable hash table: dynamic symbol count "
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

static int name_out_of_range(elf_parser *p, const sym_table *t, uint64_t i, uint32_t off)
{
    return strain_binary__warn(p->bin, "%s: symbol %llu name offset 0x%x out of range", t->what,
                               (unsigned long long)i, off);
}

static int add_symbols(elf_parser *p, const sym_table *t, sym_set *set)
{
    strain_binary *b = p->bin;
    int err = STRAIN_OK;
    for (uint64_t i = 1; i < t->count; i++) {
        elf_sym s;
        if (!read_sym(p, t, i, &s)) {
            break;
        }
        if (s.shndx == SHN_UNDEF || s.type == STT_SECTION || s.type == STT_FILE || s.name == 0) {
            continue;
        }
        const char *name = NULL;
        STRAIN_TRY(strain_elf__str(p, t->strtab, s.name, t->what, &name));
        if (name == NULL) {
            STRAIN_TRY(name_out_of_range(p, t, i, s.name));
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
        o->is_function = s.type == STT_FUNC || s.type == STT_GNU_IFUNC;
    }
done:
    return err;
}

/* Version index -> needed file, from the verneed chain. */
typedef struct ver_map {
    size_t n;
    uint16_t idx[STRAIN_ELF_MAX_VERSIONS];
    const char *file[STRAIN_ELF_MAX_VERSIONS];
} ver_map;

static int read_verneed(elf_parser *p, strain_span vn, uint64_t count, strain_span strtab,
                        ver_map *m)
{
    uint64_t off = 0;
    int err = STRAIN_OK;
    for (uint64_t k = 0; k < count && k < STRAIN_ELF_MAX_VERSIONS; k++) {
        uint16_t cnt;
        uint32_t file, aux, next;
        if (!elf_u16(p, vn, off + 2, &cnt) || !elf_u32(p, vn, off + 4, &file) ||
            !elf_u32(p, vn, off + 8, &aux) || !elf_u32(p, vn, off + 12, &next)) {
            return strain_binary__warn(p->bin, "version needs entry %llu outside its table",
                                       (unsigned long long)k);
        }
        const char *lib = NULL;
        STRAIN_TRY(strain_elf__str(p, strtab, file, "version needs file", &lib));
        uint64_t a = off + aux;
        for (uint16_t j = 0; j < cnt; j++) {
            uint16_t other;
            uint32_t anext;
            if (!elf_u16(p, vn, a + 6, &other) || !elf_u32(p, vn, a + 12, &anext)) {
                return strain_binary__warn(p->bin, "version needs aux entry outside its table");
            }
            if (m->n >= STRAIN_ELF_MAX_VERSIONS) {
                return strain_binary__warn(p->bin, "more than %u needed versions",
                                           STRAIN_ELF_MAX_VERSIONS);
            }
            m->idx[m->n] = other & 0x7fff;
            m->file[m->n] = lib != NULL ? lib : "";
            m->n++;
            if (anext == 0) {
                break;
            }
            a += anext;
        }
        if (next == 0) {
            break;
        }
        off += next;
    }
done:
    return err;
}

static const char *ver_file(const ver_map *m, uint16_t idx)
{
    for (size_t i = 0; i < m->n; i++) {
        if (m->idx[i] == idx) {
            return m->file[i];
        }
    }
    return "";
}

/* The versym array and verneed map for the dynamic symbols (sections first, then DT_*). */
static int find_versions(elf_parser *p, size_t dynsym_sec, strain_span *versym, ver_map *m)
{
    *versym = strain_span_make(NULL, 0);
    bool vs_found = false, vn_found = false;
    int err = STRAIN_OK;
    for (size_t i = 1; i < p->n_shdr; i++) {
        const elf_shdr *s = &p->shdr[i];
        if (s->type == ELF_SHT_GNU_VERSYM && !vs_found &&
            (dynsym_sec == 0 || s->link == dynsym_sec)) {
            vs_found = strain_span_sub(p->f, s->offset, s->size, versym) ||
                       strain_span_tail(p->f, s->offset, versym);
        } else if (s->type == ELF_SHT_GNU_VERNEED && !vn_found) {
            strain_span vn, strtab = p->dynstr;
            if (!strain_span_sub(p->f, s->offset, s->size, &vn) &&
                !strain_span_tail(p->f, s->offset, &vn)) {
                continue;
            }
            if (s->link < p->n_shdr && p->shdr[s->link].type == ELF_SHT_STRTAB) {
                const elf_shdr *st = &p->shdr[s->link];
                if (!strain_span_sub(p->f, st->offset, st->size, &strtab)) {
                    strain_span_tail(p->f, st->offset, &strtab);
                }
            }
            vn_found = true;
            STRAIN_TRY(read_verneed(p, vn, s->info, strtab, m));
        }
    }
    if (!vs_found) {
        strain_elf__dyn_span(p, &p->versym, versym);
    }
    if (!vn_found) {
        strain_span vn;
        if (strain_elf__dyn_span(p, &p->verneed, &vn)) {
            STRAIN_TRY(read_verneed(p, vn, p->verneednum, p->dynstr, m));
        }
    }
done:
    return err;
}

/* JUMP_SLOT and GLOB_DAT relocation types of each machine: the relocations that fill a GOT
 * slot with an imported symbol's address. 0 = none for that machine. */
static void got_types(uint16_t machine, uint32_t *jump_slot, uint32_t *glob_dat)
{
    *jump_slot = *glob_dat = 0;
    switch (machine) {
    case ELF_EM_X86_64:
    case ELF_EM_386: *glob_dat = 6, *jump_slot = 7; break;
    case ELF_EM_ARM: *glob_dat = 21, *jump_slot = 22; break;
    case ELF_EM_AARCH64: *glob_dat = 1025, *jump_slot = 1026; break;
    case ELF_EM_PPC:
    case ELF_EM_PPC64:
    case EM_SPARC:
    case EM_SPARCV9: *glob_dat = 20, *jump_slot = 21; break;
    case EM_S390: *glob_dat = 10, *jump_slot = 11; break;
    case EM_MIPS: *glob_dat = 51, *jump_slot = 127; break;
    case EM_RISCV: *jump_slot = 5; break;
    default: break;
    }
}

/* GOT slot per dynamic symbol: JUMP_SLOT wins over GLOB_DAT (the PLT stub reads it). */
typedef struct got_map {
    uint64_t *va;
    uint8_t *kind; /* 0 none, 1 GLOB_DAT, 2 JUMP_SLOT */
    uint64_t n;
    uint64_t budget; /* relocations left to read */
} got_map;

static int scan_relocs(elf_parser *p, strain_span t, bool rela, uint64_t ent, got_map *g)
{
    uint64_t std = p->is64 ? (rela ? 24 : 16) : (rela ? 12 : 8);
    uint32_t js, gd;
    got_types(p->machine, &js, &gd);
    if (ent < std) {
        ent = std;
    }
    uint64_t n = t.len / ent;
    bool mips64le = p->machine == EM_MIPS && p->is64 && !p->be;
    for (uint64_t i = 0; i < n; i++) {
        if (g->budget == 0) {
            return strain_binary__warn(p->bin, "more than %u relocations, the rest ignored",
                                       STRAIN_ELF_MAX_RELOCS);
        }
        g->budget--;
        uint64_t o = i * ent, off = 0, info = 0;
        elf_word(p, t, o, &off);
        elf_word(p, t, o + (p->is64 ? 8 : 4), &info);
        uint64_t sym, type;
        if (mips64le) {
            /* MIPS64 little-endian packs r_sym as a 32-bit LE word, then r_type bytes. */
            uint32_t s32 = 0;
            uint8_t t8 = 0;
            strain_span_u32le(t, o + 8, &s32);
            strain_span_u8(t, o + 15, &t8);
            sym = s32;
            type = t8;
        } else if (p->is64) {
            sym = info >> 32;
            type = info & 0xffffffffu;
        } else {
            sym = info >> 8;
            type = info & 0xff;
        }
        uint8_t kind = type == js && js != 0 ? 2 : type == gd && gd != 0 ? 1 : 0;
        if (kind == 0 || sym == 0 || sym >= g->n || g->kind[sym] >= kind) {
            continue;
        }
        g->kind[sym] = kind;
        g->va[sym] = off;
    }
    return STRAIN_OK;
}

static int find_got_slots(elf_parser *p, size_t dynsym_sec, got_map *g)
{
    int err = STRAIN_OK;
    strain_span t;
    if (p->has_dynamic) {
        if (strain_elf__dyn_span(p, &p->rela, &t)) {
            STRAIN_TRY(scan_relocs(p, t, true, p->rela.ent, g));
        }
        if (strain_elf__dyn_span(p, &p->rel, &t)) {
            STRAIN_TRY(scan_relocs(p, t, false, p->rel.ent, g));
        }
        if (strain_elf__dyn_span(p, &p->jmprel, &t)) {
            STRAIN_TRY(scan_relocs(p, t, p->pltrel != ELF_DT_REL, 0, g));
        }
        return STRAIN_OK;
    }
    for (size_t i = 1; i < p->n_shdr && dynsym_sec != 0; i++) {
        const elf_shdr *s = &p->shdr[i];
        if ((s->type == ELF_SHT_RELA || s->type == ELF_SHT_REL) && s->link == dynsym_sec &&
            (strain_span_sub(p->f, s->offset, s->size, &t) ||
             strain_span_tail(p->f, s->offset, &t))) {
            STRAIN_TRY(scan_relocs(p, t, s->type == ELF_SHT_RELA, s->entsize, g));
        }
    }
done:
    return err;
}

static int dynamic_imports_exports(elf_parser *p, const sym_table *t, size_t dynsym_sec)
{
    strain_binary *b = p->bin;
    int err = STRAIN_OK;
    got_map g = {NULL, NULL, t->count, STRAIN_ELF_MAX_RELOCS};
    ver_map *vm = calloc(1, sizeof(*vm));
    strain_span versym;
    if (vm == NULL) {
        return STRAIN_ENOMEM;
    }
    if (t->count > 0) {
        g.va = calloc((size_t)t->count, sizeof(uint64_t));
        g.kind = calloc((size_t)t->count, 1);
        if (g.va == NULL || g.kind == NULL) {
            err = STRAIN_ENOMEM;
            goto done;
        }
    }
    STRAIN_TRY(find_versions(p, dynsym_sec, &versym, vm));
    STRAIN_TRY(find_got_slots(p, dynsym_sec, &g));
    for (uint64_t i = 1; i < t->count; i++) {
        elf_sym s;
        if (!read_sym(p, t, i, &s)) {
            break;
        }
        if (s.name == 0 || s.bind == STB_LOCAL) {
            continue;
        }
        bool import = s.shndx == SHN_UNDEF;
        if (!import && !((s.bind == STB_GLOBAL || s.bind == STB_WEAK ||
                          s.bind == STB_GNU_UNIQUE) &&
                         (s.type == STT_FUNC || s.type == STT_OBJECT ||
                          s.type == STT_GNU_IFUNC))) {
            continue;
        }
        const char *name = NULL;
        STRAIN_TRY(strain_elf__str(p, t->strtab, s.name, t->what, &name));
        if (name == NULL && import) { /* defined ones were reported by add_symbols */
            STRAIN_TRY(name_out_of_range(p, t, i, s.name));
        }
        if (name == NULL || name[0] == '\0') {
            continue;
        }
        if (!import) {
            strain_export *e = strain_vec_push(&b->exports);
            if (e == NULL) {
                err = STRAIN_ENOMEM;
                goto done;
            }
            e->name = name;
            e->address = s.value;
            continue;
        }
        strain_import *im = strain_vec_push(&b->imports);
        if (im == NULL) {
            err = STRAIN_ENOMEM;
            goto done;
        }
        im->name = name;
        im->library = "";
        uint16_t v;
        if (elf_u16(p, versym, i * 2, &v) && (v & ~VERSYM_HIDDEN) > VER_NDX_GLOBAL) {
            im->library = ver_file(vm, v & ~VERSYM_HIDDEN);
        }
        im->address = g.kind[i] != 0 ? g.va[i] : 0;
    }
done:
    free(g.va);
    free(g.kind);
    free(vm);
    return err;
}

int strain_elf__parse_symbols(elf_parser *p)
{
    int err = STRAIN_OK;
    sym_table dyn, tabs[4];
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
        STRAIN_TRY(dynamic_imports_exports(p, &dyn, dynsym_sec));
    }
done:
    free(set.slot);
    return err;
}
