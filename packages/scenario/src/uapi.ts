import { MADVISE_ADVICE as ADVICE_NUMBERS, MLOCKALL_FLAG_BITS as MCL_BITS, MLOCK_ONFAULT as MLOCK_ONFAULT_BIT, MPOL_MODES as MODES, MREMAP_FLAG_BITS as FLAG_BITS, PRCTL_OPTION as OPTION_NUMBERS } from '@mmsim/core';
import type { Advice, MlockallFlag, MpolMode, MremapFlag, PrctlOption } from './types.js';

/** madvise() advice values by the format's names (the numbers are core's uapi table; every Advice must have one). */
export const MADVISE_ADVICE: Readonly<Record<Advice, number>> = ADVICE_NUMBERS;

/** mremap() flag bits by the format's names (core's uapi table; every MremapFlag must have one). */
export const MREMAP_FLAG_BITS: Readonly<Record<MremapFlag, number>> = FLAG_BITS;

/** mlockall() flag bits by the format's MCL_* names (core's uapi table). */
export const MLOCKALL_FLAG_BITS: Readonly<Record<MlockallFlag, number>> = MCL_BITS;

/** mlock2()'s MLOCK_ONFAULT (a `mlock` step with `onfault`). */
export const MLOCK_ONFAULT = MLOCK_ONFAULT_BIT;

/** mbind() modes by the format's MPOL_* names (core's uapi table). */
export const MPOL_MODES: Readonly<Record<MpolMode, number>> = MODES;
/** prctl() option numbers by the format's names (core's uapi table; every PrctlOption must have one). */
export const PRCTL_OPTION: Readonly<Record<PrctlOption, number>> = OPTION_NUMBERS;
