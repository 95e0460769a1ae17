/*
 * TLS directory: the callbacks the loader runs before the entry point. Malware uses them to
 * run code (anti-debugging, unpacking) before a debugger's entry breakpoint, so they are
 * entry points code analysis must follow. AddressOfCallBacks is a VA of a zero-terminated
 * array of VAs (PE/COFF spec, "The TLS Section").
 */
#include "format/pe_internal.h"
#include "util/limits.h"

/* IMAGE_TLS_DIRECTORY32 / 64 */
#define PE_TLS32_SIZE 24u
#define PE_TLS32_CALLBACKS_OFF 12u
#define PE_TLS64_SIZE 40u
#define PE_TLS64_CALLBACKS_OFF 24u

int strain_pe__parse_tls(pe_image *pe)
{
    if (pe->n_dirs <= PE_DIR_TLS || pe->dirs[PE_DIR_TLS].rva == 0) {
        return STRAIN_OK;
    }
    strain_binary *bin = pe->bin;
    strain_span t;
    size_t tsize = pe->is64 ? PE_TLS64_SIZE : PE_TLS32_SIZE;
    if (!strain_pe__rva_span(pe, pe->dirs[PE_DIR_TLS].rva, &t) || t.len < tsize) {
        return strain_binary__warn(bin, "TLS directory points outside the file (RVA 0x%x)",
                                   pe->dirs[PE_DIR_TLS].rva);
    }
    uint64_t cb_va = 0;
    if (pe->is64) {
        strain_span_u64le(t, PE_TLS64_CALLBACKS_OFF, &cb_va);
    } else {
        uint32_t v = 0;
        strain_span_u32le(t, PE_TLS32_CALLBACKS_OFF, &v);
        cb_va = v;
    }
    if (cb_va == 0) {
        return STRAIN_OK;
    }
    if (cb_va < pe->image_base) {
        return strain_binary__warn(bin, "TLS callback array VA 0x%llx is below the image base",
                                   (unsigned long long)cb_va);
    }
    uint64_t *cbs = strain_arena_array(&bin->arena, STRAIN_PE_MAX_TLS_CALLBACKS, sizeof(uint64_t));
    if (cbs == NULL) {
        return STRAIN_ENOMEM;
    }
    size_t width = pe->is64 ? 8 : 4, n = 0;
    uint64_t rva = cb_va - pe->image_base;
    for (;; n++) {
        if (n >= STRAIN_PE_MAX_TLS_CALLBACKS) {
            int err = strain_binary__warn(bin, "more than %u TLS callbacks: rest ignored",
                                          STRAIN_PE_MAX_TLS_CALLBACKS);
            if (err < 0) {
                return err;
            }
            break;
        }
        strain_span s;
        uint64_t v = 0;
        if (!strain_pe__rva_span(pe, rva + n * width, &s) || s.len < width) {
            int err = strain_binary__warn(bin, "TLS callback array runs outside the file");
            if (err < 0) {
                return err;
            }
            break;
        }
        if (pe->is64) {
            strain_span_u64le(s, 0, &v);
        } else {
            uint32_t v32 = 0;
            strain_span_u32le(s, 0, &v32);
            v = v32;
        }
        if (v == 0) {
            break;
        }
        cbs[n] = v;
    }
    bin->info.pe.tls_callbacks = cbs;
    bin->info.pe.n_tls_callbacks = n;
    return STRAIN_OK;
}
