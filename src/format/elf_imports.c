/*
 * ELF parser, part 4: exports and imports of the dynamic symbol table. Exports are its defined
 * global/weak functions and objects. An import is an undefined symbol; ELF does not bind it to
 * a library, so its library comes from symbol versioning (.gnu.version indexes
 * .gnu.version_r, whose entries name the file) and is "" for unversioned symbols. Its address
 * is the GOT slot its JUMP_SLOT (else GLOB_DAT) relocation fills: what a PLT stub's
 * `jmp [got]` or a -fno-plt `call [got]` reads, so code analysis can name the call.
 */
#include <stdlib.h>
#include <string.h>

#include "format/elf_impl.h"
#include "util/err.h"
#include "util/limits.h"

#define VERSYM_HIDDEN 0x8000u
#define VER_NDX_GLOBAL 1u

#define EM_SPARC 2u
#define EM_MIPS 8u
#define EM_S390 22u
#define EM_SPARCV9 43u
#define EM_RISCV 243u

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

int strain_elf__imports_exports(elf_parser *p, const elf_symtab *t, size_t dynsym_sec)
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
        if (!strain_elf__read_sym(p, t, i, &s)) {
            break;
        }
        if (s.name == 0 || s.bind == ELF_STB_LOCAL) {
            continue;
        }
        bool import = s.shndx == ELF_SHN_UNDEF;
        if (!import && !((s.bind == ELF_STB_GLOBAL || s.bind == ELF_STB_WEAK ||
                          s.bind == ELF_STB_GNU_UNIQUE) &&
                         (s.type == ELF_STT_FUNC || s.type == ELF_STT_OBJECT ||
                          s.type == ELF_STT_GNU_IFUNC))) {
            continue;
        }
        const char *name = NULL;
        STRAIN_TRY(strain_elf__str(p, t->strtab, s.name, t->what, &name));
        if (name == NULL && import) { /* defined ones were reported by add_symbols */
            STRAIN_TRY(strain_elf__sym_name_warn(p, t, i, s.name));
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
