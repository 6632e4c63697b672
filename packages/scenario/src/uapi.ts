import { MADVISE_ADVICE as ADVICE_NUMBERS, MREMAP_FLAG_BITS as FLAG_BITS, PRCTL_OPTION as OPTION_NUMBERS } from '@mmsim/core';
import type { Advice, MremapFlag, PrctlOption } from './types.js';

/** madvise() advice values by the format's names (the numbers are core's uapi table; every Advice must have one). */
export const MADVISE_ADVICE: Readonly<Record<Advice, number>> = ADVICE_NUMBERS;

/** mremap() flag bits by the format's names (core's uapi table; every MremapFlag must have one). */
export const MREMAP_FLAG_BITS: Readonly<Record<MremapFlag, number>> = FLAG_BITS;

/** prctl() option numbers by the format's names (core's uapi table; every PrctlOption must have one). */
export const PRCTL_OPTION: Readonly<Record<PrctlOption, number>> = OPTION_NUMBERS;
