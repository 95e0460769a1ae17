/*
 * Feeds the store with the certificates of one sample's Authenticode signatures. Every
 * signature counts (nested ones too: a stolen certificate often appears as the second,
 * SHA-256 signature). Its signer is linked as "signer" with the signature's verdict; the
 * chain the verifier built and the certificates the SignedData carries are linked as chain
 * certificates, so "which samples did this CA's certificates sign" is answerable while
 * findings stay on signers. TSA certificates are left out: they say who timestamped, not
 * who signed.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/certs_impl.h"
#include "util/err.h"

/* The store refuses names over STRAIN_STORE_NAME_MAX bytes or with control characters, and
 * a certificate is attacker-written: a subject of hundreds of RDNs must not make the whole
 * sample unrecordable. Kept: the first bytes, control characters as '?', a "..." mark where
 * cut (the thumbprints still identify the certificate exactly). */
static char *fit(const char *s, size_t max)
{
    size_t n = strlen(s);
    bool cut = n > max;
    size_t keep = cut ? max - 3 : n;
    char *o = malloc(keep + 4);
    if (o == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < keep; i++) {
        unsigned char ch = (unsigned char)s[i];
        o[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    memcpy(o + keep, cut ? "..." : "", cut ? 4 : 1);
    return o;
}

static int put_one(strain_store *st, int64_t sample_id, const strain_sig_cert *c, bool signer,
                   const char *verdict, bool kernel_driver)
{
    strain_store_cert sc;
    strain_store_cert_link l;
    int64_t id = 0;
    int err;
    char *subject = fit(c->subject, STRAIN_STORE_NAME_MAX);
    char *issuer = fit(c->issuer, STRAIN_STORE_NAME_MAX);
    char *serial = fit(c->serial, STRAIN_STORE_LABEL_MAX);
    if (subject == NULL || issuer == NULL || serial == NULL) {
        err = STRAIN_ENOMEM;
        goto done;
    }
    memset(&sc, 0, sizeof(sc));
    memcpy(sc.sha1, c->sha1, sizeof(sc.sha1));
    memcpy(sc.sha256, c->sha256, sizeof(sc.sha256));
    sc.subject = subject;
    sc.issuer = issuer;
    sc.serial = serial;
    sc.not_before = c->not_before;
    sc.not_after = c->not_after;
    STRAIN_TRY(strain_store_put_cert(st, &id, &sc));
    memset(&l, 0, sizeof(l));
    l.sample_id = sample_id;
    l.cert_id = id;
    l.has_info = true;
    l.signer = signer;
    l.verdict = verdict;
    l.kernel_driver = kernel_driver;
    STRAIN_TRY(strain_store_link_cert_info(st, &l));
done:
    free(subject);
    free(issuer);
    free(serial);
    return err;
}

int strain_certs_record(strain_store *st, int64_t sample_id, const strain_sig_report *rep,
                        bool kernel_driver)
{
    const strain_sig_info *info;
    int n = 0;
    int err = STRAIN_OK;
    if (st == NULL || rep == NULL) {
        return STRAIN_EINVAL;
    }
    info = strain_sig_report_info(rep);
    for (size_t i = 0; i < info->n_signatures; i++) {
        const strain_sig_signature *s = &info->signatures[i];
        const char *v = strain_sig_verdict_name(s->verdict);
        if (s->signer != NULL) {
            STRAIN_TRY(put_one(st, sample_id, s->signer, true, v, kernel_driver));
            n++;
        }
        for (size_t k = 0; k < s->n_chain; k++) {
            bool leaf = s->signer != NULL && strcmp(s->chain[k].sha256, s->signer->sha256) == 0;
            if (!leaf) {
                STRAIN_TRY(put_one(st, sample_id, &s->chain[k], false, v, kernel_driver));
                n++;
            }
        }
        for (size_t k = 0; k < s->n_certs; k++) {
            bool leaf = s->signer != NULL && strcmp(s->certs[k].sha256, s->signer->sha256) == 0;
            if (!leaf) {
                STRAIN_TRY(put_one(st, sample_id, &s->certs[k], false, v, kernel_driver));
                n++;
            }
        }
    }
    err = n;
done:
    return err;
}
