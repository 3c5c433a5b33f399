/*
 * half: float32 to IEEE binary16 (fp16) and bfloat16 and back, round
 * half to even; out of range gives infinity, NaN stays NaN.
 */
#ifndef FED_HALF_H
#define FED_HALF_H

#include <stdint.h>

uint16_t half_f16(float x);
float    half_f16_value(uint16_t h);
uint16_t half_bf16(float x);
float    half_bf16_value(uint16_t h);

#endif
