/**
 * The emulated ASIC's physics, as a pure step function: power follows load, the chip heats
 * toward a steady state set by power, ambient and airflow, the fan controller answers the chip
 * temperature, and above the throttle point the firmware cuts the hashrate until it cools.
 */

export interface ThermalParams {
  ambientCelsius: number;
  wattsIdle: number;
  wattsFull: number;
  throttleCelsius: number;
  /** Seconds for the chip to cover ~63 % of the way to its steady temperature. */
  tauSeconds: number;
}

export interface ThermalState {
  celsius: number;
  fanFraction: number; // 0.2..1
  /** Hashrate factor the firmware applies (1 = full speed). */
  throttle: number;
  watts: number;
}

export const FAN_MAX_RPM = 6000;
/** Chip temperature rise over ambient at full power and full fan. */
const RISE_FULL = 45;

export function initialThermal(p: ThermalParams): ThermalState {
  return { celsius: p.ambientCelsius, fanFraction: 0.2, throttle: 1, watts: p.wattsIdle };
}

/** Advance by dt seconds with `load` (0..1: share of units hashing, before throttling). */
export function stepThermal(s: ThermalState, p: ThermalParams, load: number, dt: number): ThermalState {
  const effective = Math.max(0, Math.min(1, load)) * s.throttle;
  const watts = p.wattsIdle + (p.wattsFull - p.wattsIdle) * effective;
  const powerFraction = watts / p.wattsFull;
  const steady = p.ambientCelsius + (RISE_FULL * powerFraction) / (0.4 + 0.6 * s.fanFraction);
  const celsius = s.celsius + (steady - s.celsius) * (1 - Math.exp(-dt / Math.max(0.01, p.tauSeconds)));
  const fanFraction = Math.max(0.2, Math.min(1, (celsius - 40) / 30));
  let throttle = s.throttle;
  if (celsius > p.throttleCelsius) throttle = Math.max(0.3, throttle - 0.1 * dt);
  else if (celsius < p.throttleCelsius - 5) throttle = Math.min(1, throttle + 0.05 * dt);
  return { celsius, fanFraction, throttle, watts };
}
