/*
 * Every cap on attacker-controlled counts, sizes and depths, in one place, each with the
 * reason for its number. Hitting one is always reported (a warning or STRAIN_ELIMIT with a
 * message naming it), never silent.
 */
#ifndef STRAIN_UTIL_LIMITS_H
#define STRAIN_UTIL_LIMITS_H

/* Input (configurable through strain_limits; these are the defaults). */
/* Largest real PE we know of in the wild is a few hundred MB (game/installer); 512 MiB keeps
 * a sample in memory on a 24 GiB machine with room for several workers. */
#define STRAIN_DEFAULT_MAX_FILE_SIZE (512ull << 20)
/* An archive argument may hold a whole collection; 4 GiB unpacked bounds one argument. */
#define STRAIN_DEFAULT_MAX_TOTAL_UNPACKED (4ull << 30)
/* Malware collections zip thousands of samples; 100k members bounds the walk. */
#define STRAIN_DEFAULT_MAX_MEMBERS 100000ull
/* Sample sharing nests one or two levels (zip in zip); 4 is generous, 42.zip needs 6. */
#define STRAIN_DEFAULT_MAX_DEPTH 4u
/* Real executables compress 2-10x, sparse images up to ~100x; 42.zip members reach
 * ~1,000,000x. 200x allows real data and refuses bombs. */
#define STRAIN_DEFAULT_MAX_RATIO 200u
/* Directory trees deeper than this are loops or traps. */
#define STRAIN_DEFAULT_MAX_DIR_DEPTH 64u

/* PE (the loader caps NumberOfSections at 96; images with more do not load). */
#define STRAIN_PE_MAX_SECTIONS 96u
/* Imports/exports: the largest system DLLs export ~3,000 names (kernelbase), import ~2,000. */
#define STRAIN_PE_MAX_IMPORT_DLLS 1024u
#define STRAIN_PE_MAX_IMPORTS 65536u
#define STRAIN_PE_MAX_EXPORTS 65536u
#define STRAIN_PE_MAX_TLS_CALLBACKS 256u
/* Resource tree: the format nests type/name/language = 3 levels. */
#define STRAIN_PE_MAX_RESOURCE_DEPTH 3u
#define STRAIN_PE_MAX_RESOURCE_ENTRIES 65536u
#define STRAIN_PE_MAX_DEBUG_ENTRIES 64u
/* Names: MSVC decorated names exceed 2,000 chars; 4 KiB keeps them, cuts garbage. */
#define STRAIN_MAX_NAME_LEN 4096u

/* ELF */
#define STRAIN_ELF_MAX_SECTIONS 65535u
#define STRAIN_ELF_MAX_SEGMENTS 4096u
#define STRAIN_ELF_MAX_SYMBOLS 2000000u
#define STRAIN_ELF_MAX_NEEDED 1024u

/* Strings */
#define STRAIN_STRINGS_MAX_COUNT 1000000u

/* Code recovery (src/code/). Each cap bounds work a hostile file could make unbounded. */
/* Functions per sample: the largest real binaries (browsers, Go/Rust monoliths) have
 * ~300k functions; 1M is past any real program. */
#define STRAIN_CODE_MAX_FUNCTIONS 1000000u
/* Instructions per function: the largest compiler-generated functions (state machines,
 * unrolled crypto, interpreter loops) reach ~50k; beyond that it is junk or a flattened
 * obfuscator, and the genotype of the first 64k is still stable. */
#define STRAIN_CODE_MAX_FUNC_INSNS 65536u
/* Basic blocks per function: ~1 block per 4-5 instructions in real code. */
#define STRAIN_CODE_MAX_FUNC_BLOCKS 16384u
/* Jump-table entries: switch statements of real code have < 1,000 cases; 4096 covers
 * generated lexers and bounds a table whose bound we could not read. */
#define STRAIN_CODE_MAX_JUMPTABLE 4096u
/* Total instructions decoded per sample, per byte of code: linear coverage is 1 decode per
 * ~4 bytes; functions sharing code, rejected gap candidates and overlapping instructions
 * multiply it. 2 per byte (+1M) bounds a file made of overlapping junk. */
#define STRAIN_CODE_DECODE_PER_BYTE 2u
#define STRAIN_CODE_DECODE_BASE 1000000u
/* .eh_frame records read: one per function, see STRAIN_CODE_MAX_FUNCTIONS. */
#define STRAIN_CODE_MAX_FDES 1000000u
/* Notes in a genome: a handful of distinct facts; more is a hostile file repeating one. */
#define STRAIN_CODE_MAX_NOTES 16u
/* Genome deserialisation: a genome larger than this did not come from a sample within
 * STRAIN_DEFAULT_MAX_FILE_SIZE (fragments <= 1 per byte of code, genes <= functions). */
#define STRAIN_GENOME_MAX_FRAGMENTS 64000000u

#endif
