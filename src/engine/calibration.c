/*
 * Confidence calibration: score -> observed share of correct attributions, measured on the
 * public corpus benchmark (bench/attribution.py with bench/attribution_strain.py, which pools
 * the top-ranked actor of every T1, T3 and T4 query: was it the right actor?). Regenerate with
 *     /usr/bin/python3 bench/attribution.py --strain build/dev/strain \
 *         --calibrate src/engine/calibration_table.h
 * The default threshold is the lowest score whose attributions at or above it were wrong at
 * most 5% of the time in that run (docs/attribution.md has the table).
 */
#include "attribution_impl.h"

#include "calibration_table.h"

double strain_engine_confidence(double score)
{
    size_t n = sizeof(calib_score) / sizeof(calib_score[0]);
    if (score <= calib_score[0]) {
        return calib_conf[0];
    }
    for (size_t i = 1; i < n; i++) {
        if (score <= calib_score[i]) {
            double t = (score - calib_score[i - 1]) / (calib_score[i] - calib_score[i - 1]);
            return calib_conf[i - 1] + t * (calib_conf[i] - calib_conf[i - 1]);
        }
    }
    return calib_conf[n - 1];
}

double strain_engine_default_threshold(void)
{
    return CALIB_THRESHOLD;
}
