// The environment variable that mirrors a routewarden flag, in one place: the
// CLI reads it and the kube-vip resolver names it when it says where one of
// routewarden's own values came from.

/** ROUTEWARDEN_<FLAG_IN_UPPER_SNAKE>, e.g. min-repair-interval => ROUTEWARDEN_MIN_REPAIR_INTERVAL. */
export const envName = (flag: string): string => `ROUTEWARDEN_${flag.replaceAll('-', '_').toUpperCase()}`;
