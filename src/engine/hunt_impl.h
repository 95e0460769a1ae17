/*
 * Hunt internals shared by hunt.c (seeds, discount, the streaming run) and hunt_db.c (the
 * retrohunt over the reference database): the hunt's seeds and its prepared discount.
 */
#ifndef STRAIN_ENGINE_HUNT_IMPL_H
#define STRAIN_ENGINE_HUNT_IMPL_H

#include <pthread.h>

#include <strain/hunt.h>

typedef struct hunt_seed {
    strain_genome *raw;
    strain_genome *prepared; /* discounted; == raw when there is nothing to discount */
    char *name;
} hunt_seed;

struct strain_hunt {
    hunt_seed *seeds;
    size_t n_seeds;
    strain_genome **clean;
    size_t n_clean;
    unsigned common;
    strain_genome *discount; /* clean + common code, NULL when none */
    bool prepared;
    pthread_mutex_t lock;
};

/* Builds (once) the discount genome and the discounted seeds; later seed and clean changes
 * are refused. Thread-safe. */
int strain_hunt__prepare(strain_hunt *h, strain_ctx *ctx);

/* Adds a clean genome, taking ownership of g (freed on failure too). */
int strain_hunt__add_clean_owned(strain_hunt *h, strain_ctx *ctx, strain_genome *g);

#endif
