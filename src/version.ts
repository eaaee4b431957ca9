// The version shown by --version and routewarden_build_info, read from package.json.
import { PACKAGE_JSON } from './package-root.ts';

export const VERSION: string = PACKAGE_JSON.version;
