//! Tests of the HDF5 scanner on files written by h5py, in every attribute layout it produces.

use std::io::Read;

use proptest::prelude::*;
use warden_core::Finding;

use super::*;
use crate::settings::ScanSettings;

// Test files written by h5py 3.16 (HDF5 2.0.0), stored as base64 of zlib-compressed bytes. With
// `evil = base64(marshal.dumps((lambda x: __import__('os').system('id') or x).__code__))` (CPython
// 3.11), `lam = {"class_name": "Lambda", "config": {"name": "evil", "function": [evil, None, None],
// "function_type": "lambda", "module": "__main__"}}`, `dense = {"class_name": "Dense", "config":
// {"name": "dense", "units": 1}}` and `model(layers) = {"class_name": "Sequential", "config":
// {"name": "s", "layers": layers}, "keras_version": "2.11.0", "backend": "tensorflow"}`:
// - COMPACT_LAMBDA: `f.attrs["model_config"] = json.dumps(model([dense, lam])).encode()`,
//   `f.attrs["keras_version"] = b"2.11.0"`, a small dataset `w` (superblock v0, compact attributes);
// - DENSE_HUGE_LAMBDA: `model_config` of 2500 Dense layers then `lam` (about 175 KiB: dense
//   storage, value as a fractal-heap huge object);
// - VLEN_BENIGN: `model_config = json.dumps(model([dense]))` and a `training_config` as `str`
//   (variable-length strings in the global heap);
// - DENSE_MANAGED_LAMBDA: `libver="latest"` (superblock v3), ten int attributes `extra_<i>` then
//   `model_config = json.dumps(model([lam])).encode()` (dense storage, managed heap objects).
const COMPACT_LAMBDA: &str = "eNrtld1u0zAUgJO0Q9VEUSchDbihyu2m0bQDMSQu8tdmrO3Wn2hlaMrcNI1C02RrkqXVVHELb8Ij8Ag8Ao/AWww7TtqmUiUkuEDCn2S7Psfn+PTk2P6iSNX89rNtCpHLUVmqQK1yH1N4kp4n+qt4pOPxczx+ZRJ5NtLF5tA79l/M4Pm3WN5tyzJafb9Gss/PLB5zFOF/RJH5MzT2FnWE+c6k14Vr9aj84b478U7rdf0w9kxTeeoxrMqxOzBsTXedoWUi+VMax1hYxJJLxTVglsVMp/w9ivyNjAnwtFtj4lmu8xv+HqwcDiaSb2EdneyBTyBNY0F8nBZjBuqRZqf4PJYVqd0ctfsp1m9B50jPMAyNt8L+MonjtXtjmbF/g07zVKLhP0jujx8ZcqYIhJp4WqdXjm/qfoLcsboNPE9zwNhg3xTZjnETGI5vAZvdL7L4voPyOzZZ4CG5DWbw5oLTD+v2kuF4xgbTQaILHMtH1tx8vl9c91AH4/4AbHBh3FpRYMPA0X14c6IQ2MNQ5tM0UCeh7nXJhb3Y45WWkFpSawnXJrQ78Vbkosm3+I1c8CdjpL9Z3U/hhSEvdHlxJHV9V+xXzgA/tkcnrToQ7aMhOOfCfuVdqce9AILTfKlX2na/MxLKZvVQx37MPTO8HdS4sF7mJkBSA11xXonS1Ht/zlkXNXlPN80oONTps2P8s66CQO62G6qiwtZrqB87sB1Xm/K067dg46fqkdBRD2EOwijStzBxTmDbuL9cyaLmz66j9NqL3MP3LrAjmaaNgeVoGjufX8LPxaZeLrSgfMBxByVk1Af6yHAGSOjDb+1OhrYbsvPkzVq8YxBstKzTqzw5qwQCgUAgEAgEAoHwN/kF1CD7Ew==";
const DENSE_HUGE_LAMBDA: &str = "eNrt3U+P3Vd9wGETuohQkajURdtV5FUlEPX3z/mH1IXthJgSKCGxSEHInTiOm8axIbYJCGXfvpPuWfYN9F2148RBCRVSKz1SF81Pmns9vzv3zPWdj67see45519vvfzdr3/tr7525dnx4otX/uTKN658/vjP58etf3/hC59/dvs/Pr/+yvPrf3l+/W8vfHb+q5/c9hfPz3/j+fgvffXTz//p+fk3f/zKK58f/w+/z5fH/+/j1ivXf/Ts+q3nn7/4/Po/Xvji133W4Y/Q9/2z573+Ydd/euXW8+/39St/fvloPnj0zr0Hd+4+evjue/efnf/Lr1z55J7f+P1jevELj++vf/fC7/8SX/nyx/vl8eXx5fF/cLx68+9fe/b6c+t3L/z316fL47dX7z64ePz4zsOLD+5d/c5LV9+498un9x4+ee/iwdVvvXT109e7y/O/vfrZFzx+dv7BxW/uffj48tOf/eH9X7738PG9P3LXd57ddufas1ufPnzvybP7x8cff+ul//0YAcZIMEaBMRqMMcAYE4yxwBgbjHFEYyRUUWqIVEO0GiLWELWGyDVEryGCDVFsimKTvLaKYlMUm6LYFMWmKDZFsSmKTVFsiWJLFFvknwOi2BLFlii2RLElii1RbIliWxTbotgWxTb5F6wotkWxLYptUWyLYlsUO0SxQxQ7RLFDFDvIf7pEsUMUO0SxQxQ7RLFTFDtFsVMUO0WxUxQ7ye8JRLFTFDtFsVMUu0SxSxS7RLFLFLtEsUsUu8ivtkSxSxS7RLFbFLtFsVsUu0WxWxS7RbFbFLvJb2NFsVsUe0SxRxR7RLFHFHtEsUcUe0SxRxR7CCAYQSCEcI0YwjWCCNeIIlwjjHCNOMI1AgnXiCRcI5RwjbSL+Iu0awDMCJghMGNgBsGMghkGIw4WBMIijd2SdomFBcGwIBoWhMOCeFgQEAsiYkFILIiJRZk3HpB2CYsFcbEgMBZExoLQWBAbC4JjQXQsCI9Fm3fNkHaJkAUhsiBGFgTJgihZECYL4mRBoCyIlMUwb/ki7RIsC6JlQbgsiJcFAbMgYhaEzIKYWRA0i2ner0jaJW4WBM6CyFkQOgtiZ0HwLIieBeGzIH4Wy7zZlrRLCC2IoQVBtCCKFoTRgjhaEEgLImlBKC22eac4aZdoWhBOC+JpQUAtiKgFIbUgphYE1YKoWhwzzcHMcyATHYirJXG1JK6WxNWSuFoSV0viaklcLYmrZZhJOqRd4mpJXC2JqyVxtSSulsTVkrhamvllZoIZmmFG2jVzzMwkMzPLzEwzM/PMzEQz4mpJXC2Jq2WZ6ZGkXeJqSVwtiaslcbUkrpbE1ZK4WhJXS+Jq2WZuL2mXuFoSV0viaklcLYmrJXG1JK6WxNWSuFoOMzGdtEtcLYmrJXG1JK6WxNWSuFoSV0viaklcLadZVYG0S1wtiaslcbUkrpbE1ZK4WhJXS+JqSVwtl1kShLRLXC2JqyVxtSSulsTVkrhaEldL4mpJXC23Wc+GtEtcLYmrJXG1JK6WxNWSuFoSV0viaklcLY9ZjMmsxkSWYyKuVsTVirhaEVcr4mpFXK2IqxVxtSKuVmGWEiPtElcr4mpFXK2IqxVxtSKuVsTVirhaEVerNOvgkXaJqxVxtSKuVsTVirhaEVcrs4KjWcLRrOGIFnEk7ZplHM06jmYhR7OSo1nKkbhaEVcr4mpFXK3arEBK2iWuVsTVirhaEVcr4mpFXK2IqxVxtSKuVsMsn0vaJa5WxNWKuFoRVyviakVcrYirFXG1Iq5W06z9TNolrlbE1Yq4WhFXK+JqRVytiKsVcbUirlbLLFxO2iWuVsTVirhaEVcr4mpFXK2IqxVxtSKuVtusuk/aJa5WxNWKuFoRVyviakVcrYirFXG1Iq5Wx2wZYfaMIJtGEFdr4mpNXK2JqzVxtSau1sTVmrhaE1frMBuekHaJqzVxtSau1sTVmrhaE1dr4mpNXK2Jq3Wa3XpIu8TVmrhaE1dr4mpNXK2JqzVxtSau1sTVusxWU6Rd4mpNXK2JqzVxtSau1maPNLNJmtklzWyThvZJI+2andLMVmlmrzSzWRpxtSau1sTVmrhaE1frYTb5I+0SV2viak1crYmrNXG1Jq7WxNWauFoTV+tpdqgk7RJXa+JqTVytias1cbUmrtbE1Zq4WhNX62W2VyXtEldr4mpNXK2JqzVxtSau1sTVmrhaE1frbfYGJu0SV2viak1crYmrNXG1Jq7WxNWauFoTV+tjNrY2O1uTra2Jqw3iaoO42iCuNoirDeJqg7jaIK42iKuNMNuyk3aJqw3iaoO42iCuNoirDeJqg7jaIK42iKsN4mqDuNogrjaIqw3iaoO42iCuNoirDeJqg7jaIK42iKsN4mqDuNogrjaIqw3iaoO42iCuNoirDeJqg7jaIK42iKsN4mqDuNogrjaIqw3iaoO42iCuNoirDeJqg7jaIK42iKsN4mqDuNogrjaIqw3iaoO42iCuNoirDeJqg7jaIK42iKsN4mqDuNogrjaIqw3iaoO42iCuNoirDeJqg7jaIK42iKsN4mqDuNogrjaIqw3iaoO42iCuNoirDeJqg7jaIK42iKsN4mqDuNogrjaIqw3iaoO42iCuNomrTeJqk7jaJK42iatN4mqTuNokrjaJq03iapO42iSuNomrTeJqk7jaJK42iatN4mqTuNokrjaJq03iapO42iSuNomrTeJqk7jaJK42iatN4mqTuNokrjaJq03iapO42iSuNomrTeJqk7jaJK42iatN4mqTuNokrjaJq03iapO42iSuNomrTeJqk7jaJK42iatN4mqTuNokrjaJq03iapO42iSuNomrTeJqk7jaJK42iatN4mqTuNokrjaJq03iapO42iSuNomrTeJqk7jaJK42iatN4mqTuNokrjaJq03iapO42iSuNomrTeJqk7jaJK42iatN4mqTuNokrjaJq03iapO42iSuNomrTeJqk7jaJK62iKst4mqLuNoirraIqy3iaou42iKutoirLeJqi7jaIq62iKst4mqLuNoirraIqy3iaou42iKutoirLeJqi7jaIq62iKst4mqLuNoirraIqy3iaou42iKutoirLeJqi7jaIq62iKst4mqLuNoirraIqy3iaou42iKutoirLeJqi7jaIq62iKst4mqLuNoirraIqy3iaou42iKutoirLeJqi7jaIq62iKst4mqLuNoirraIqy3iaou42iKutoirLeJqi7jaIq62iKst4mqLuNoirraIqy3iaou42iKutoirLeJqi7jaIq62iKst4mqLuNoirraIqy3iaou42iKutoirLeJqi7jaIq62iKst4mqLuNoirraJq23iapu42iautomrbeJqm7jaJq62iatt4mqbuNomrraJq23iapu42iautomrbeJqm7jaJq62iatt4mqbuNomrraJq23iapu42iautomrbeJqm7jaJq62iatt4mqbuNomrraJq23iapu42iautomrbeJqm7jaJq62iatt4mqbuNomrraJq23iapu42iautomrbeJqm7jaJq62iatt4mqbuNomrraJq23iapu42iautomrbeJqm7jaJq62iatt4mqbuNomrraJq23iapu42iautomrbeJqm7jaJq62iatt4mqbuNomrraJq23iapu42iautomrbeJqm7jaJq62iatt4mqbuNomrraJq23iapu42iaudoirHeJqh7jaIa52iKsd4mqHuNohrnaIqx3iaoe42iGudoirHeJqh7jaIa52iKsd4mqHuNohrnaIqx3iaoe42iGudoirHeJqh7jaIa52iKsd4mqHuNohrnaIqx3iaoe42iGudoirHeJqh7jaIa52iKsd4mqHuNohrnaIqx3iaoe42iGudoirHeJqh7jaIa52iKsd4mqHuNohrnaIqx3iaoe42iGudoirHeJqh7jaIa52iKsd4mqHuNohrnaIqx3iaoe42iGudoirHeJqh7jaIa52iKsd4mqHuNohrnaIqx3iaoe42iGudoirHeJqh7jaIa52iKsd4mqHuNohrnaIqx3iaoe42iGudoirHeJqh7jaIa4W1wisXQ4TZpg0w5QZps0wwwwzzTDLDLPNMKbiMBWHqThMxWEqDlNxmIrDVBym4jAVh6k4TcVpKk5TcZqK01ScpuI0FaepOE3FaSouU3GZistUXKbiMhWXqbhMxWUqLlNxmYrbVNym4jYVt6m4TcVtKm5TcZuK21TcpuJhKh6m4mEqHqbiYSoepuJhKh6m4mEqHqbiaSqepuJpKp6m4mkqnqbiaSqepuJpKp6m4mUqXqbiZSpepuJlKl6m4mUqXqbiZSpepuJtKt6m4m0q3qbibSrepuJtKt6m4m0q3qbiYyo+puJjKj6m4mMqPqbiYyo+puJjKjZ2F8buwthdGLsLY3dh7C6M3YWxuzB2F8buwthdGLsLY3dh7C6M3YWxuzB2F8buwthdGLsLY3dh7C6M3YWxuzB2F8buwthdGLsLY3dh7C6M3YWxuzB2F8buwthdGLsLY3dh7C6M3YWxuzB2F8buwthdGLsLY3dh7C6M3YWxuzB2F8buwthdGLsLY3dh7C6M3YWxuzB2F8buwthdGLsLY3dh7C6M3YWxuzB2F8buwthdGLsLY3dh7C6M3YWxuzB2F8buwthdGLsLY3dh7C6M3YWxuzB2F8buwthdGLsLY3dh7C6M3YWxuzB2F8buwthdGLsLY3dh7C6M3YWxuzB2F8buwthdGLsLY3dp7C6N3aWxuzR2l8bu0thdGrtLY3dp7C6N3aWxuzR2l8bu0thdGrtLY3dp7C6N3aWxuzR2l8bu0thdGrtLY3dp7C6N3aWxuzR2l8bu0thdGrtLY3dp7C6N3aWxuzR2l8bu0thdGrtLY3dp7C6N3aWxuzR2l8bu0thdGrtLY3dp7C6N3aWxuzR2l8bu0thdGrtLY3dp7C6N3aWxuzR2l8bu0thdGrtLY3dp7C6N3aWxuzR2l8bu0thdGrtLY3dp7C6N3aWxuzR2l8bu0thdGrtLY3dp7C6N3aWxuzR2l8bu0thdGrtLY3dp7C6N3aWxuzR2l8bu0thdGrtLY3dp7C6N3aWxuzR2V8buythdGbsrY3dl7K6M3ZWxuzJ2V8buythdGbsrY3dl7K6M3ZWxuzJ2V8buythdGbsrY3dl7K6M3ZWxuzJ2V8buythdGbsrY3dl7K6M3ZWxuzJ2V8buythdGbsrY3dl7K6M3ZWxuzJ2V8buythdGbsrY3dl7K6M3ZWxuzJ2V8buythdGbsrY3dl7K6M3ZWxuzJ2V8buythdGbsrY3dl7K6M3ZWxuzJ2V8buythdGbsrY3dl7K6M3ZWxuzJ2V8buythdGbsrY3dl7K6M3ZWxuzJ2V8buythdGbsrY3dl7K6M3ZWxuzJ2V8buythdGbsrY3dl7K6M3ZWxuzJ2V8buythdGbsrY3dt7K6N3bWxuzZ218bu2thdG7trY3dt7K6N3bWxuzZ218bu2thdG7trY3dt7K6N3bWxuzZ218bu2thdG7trY3dt7K6N3bWxuzZ218bu2thdG7trY3dt7K6N3bWxuzZ218bu2thdG7trY3dt7K6N3bWxuzZ218bu2thdG7trY3dt7K6N3bWxuzZ218bu2thdG7trY3dt7K6N3bWxuzZ218bu2thdG7trY3dt7K6N3bWxuzZ218bu2thdG7trY3dt7K6N3bWxuzZ218bu2thdG7trY3dt7K6N3bWxuzZ218bu2thdG7trY3dt7K6N3bWxuzZ218bu2thdG7trY3dt7K6N3bWxuzZ2N4zdDWN3w9jdMHY3jN0NY3fD2N0wdjeM3Q1jd8PY3TB2N4zdDWN3w9jdMHY3jN0NY3fD2N0wdjeM3Q1jd8PY3TB2N4zdDWN3w9jdMHY3jN0NY3fD2N0wdjeM3Q1jd8PY3TB2N4zdDWN3w9jdMHY3jN0NY3fD2N0wdjeM3Q1jd8PY3TB2N4zdDWN3w9jdMHY3jN0NY3fD2N0wdjeM3Q1jd8PY3TB2N4zdDWN3w9jdMHY3jN0NY3fD2N0wdjeM3Q1jd8PY3TB2N4zdDWN3w9jdMHY3jN0NY3fD2N0wdjeM3Q1jd8PY3TB2N4zdDWN3w9jdMHY3jN0NY3fD2N0wdjeM3Q1jd8PY3TB2N4zdDWN3w9jdMHY3jd1NY3fT2N00djeN3U1jd9PY3TR2N43dTWN309jdNHY3jd1NY3fT2N00djeN3U1jd9PY3TR2N43dTWN309jdNHY3jd1NY3fT2N00djeN3U1jd9PY3TR2N43dTWN309jdNHY3jd1NY3fT2N00djeN3U1jd9PY3TR2N43dTWN309jdNHY3jd1NY3fT2N00djeN3U1jd9PY3TR2N43dTWN309jdNHY3jd1NY3fT2N00djeN3U1jd9PY3TR2N43dTWN309jdNHY3jd1NY3fT2N00djeN3U1jd9PY3TR2N43dTWN309jdNHY3jd1NY3fT2N00djeN3U1jd9PY3TR2N43dTWN309jdNHY3jd1NY3fT2N00dreM3S1jd8vY3TJ2t4zdLWN3y9jdMna3jN0tY3fL2N0ydreM3S1jd8vY3TJ2t4zdLWN3y9jdMna3jN0tY3fL2N0ydreM3S1jd8vY3TJ2t4zdLWN3y9jdMna3jN0tY3fL2N0ydreM3S1jd8vY3TJ2t4zdLWN3y9jdMna3jN0tY3fL2N0ydreM3S1jd8vY3TJ2t4zdLWN3y9jdMna3jN0tY3fL2N0ydreM3S1jd8vY3TJ2t4zdLWN3y9jdMna3jN0tY3fL2N0ydreM3S1jd8vY3TJ2t4zdLWN3y9jdMna3jN0tY3fL2N0ydreM3S1jd8vY3TJ2t4zdLWN3y9jdMna3jN0tY3fL2N0ydreM3S1jd8vY3TJ2t43dbWN329jdNna3jd1tY3fb2N02dreN3W1jd9vY3TZ2t43dbWN329jdNna3jd1tY3fb2N02dreN3W1jd9vY3TZ2t43dbWN329jdNna3jd1tY3fb2N02dreN3W1jd9vY3TZ2t43dbWN329jdNna3jd1tY3fb2N02dreN3W1jd9vY3TZ2t43dbWN329jdNna3jd1tY3fb2N02dreN3W1jd9vY3TZ2t43dbWN329jdNna3jd1tY3fb2N02dreN3W1jd9vY3TZ2t43dbWN329jdNna3jd1tY3fb2N02dreN3W1jd9vY3TZ2t43dbWN329jdNna3jd1tY3fb2N02dreN3W1jd9vY3TZ2t43dbWN329jdNnZ3jN0dY3fH2N0xdneM3R1jd8fY3TF2d4zdHWN3x9jdMXZ3jN0dY3fH2N0xdneM3R1jd8fY3TF2d4zdHWN3x9jdMXZ3jN0dY3fH2N0xdneM3R1jd8fY3TF2d4zdHWN3x9jdMXZ3jN0dY3fH2N0xdneM3R1jd8fY3TF2d4zdHWN3x9jdMXZ3jN0dY3fH2N0xdneM3R1jd8fY3TF2d4zdHWN3x9jdMXZ3jN0dY3fH2N0xdneM3R1jd8fY3TF2d4zdHWN3x9jdMXZ3jN0dY3fH2N0xdneM3R1jd8fY3TF2d4zdHWN3x9jdMXZ3jN0dY3fH2N0xdneM3R1jd8fY3TF2d4zdHWN3x9jdMXZ3jN0dY3fH2N0hdpfXiN1dDhNmmDTDlBmmzTDDDDPNMMsMs80wpuIwFYepOEzFYSoOU3GYisNUHKbiMBWHqThNxWkqTlNxmorTVJym4jQVp6k4TcVpKi5TcZmKy1RcpuIyFZepuEzFZSouU3GZittU3KbiNhW3qbhNxW0qblNxm4rbVNym4mEqHqbiYSoepuJhKh6m4mEqHqbiYSoepuJpKp6m4mkqnqbiaSqepuJpKp6m4mkqnqbiZSpepuJlKl6m4mUqXqbiZSpepuJlKl6m4m0q3qbibSrepuJtKt6m4m0q3qbibSrepuJjKj6m4mMqPqbiYyo+puJjKj6m4mMqNnYXxu7C2F0Yuwtjd2HsLozdhbG7MHYXxu7C2F0Yuwtjd2HsLozdhbG7MHYXxu7C2F0Yuwtjd2HsLozdhbG7MHYXxu7C2F0Yuwtjd2HsLozdhbG7MHYXxu7C2F0Yuwtjd2HsLozdhbG7MHYXxu7C2F0Yuwtjd2HsLozdhbG7MHYXxu7C2F0Yuwtjd2HsLozdhbG7MHYXxu7C2F0Yuwtjd2HsLozdhbG7MHYXxu7C2F0Yuwtjd2HsLozdhbG7MHYXxu7C2F0Yuwtjd2HsLozdhbG7MHYXxu7C2F0Yuwtjd2HsLozdhbG7MHYXxu7C2F0Yuwtjd2HsLozdhbG7MHYXxu7C2F0Yuwtjd2nsLo3dpbG7NHaXxu7S2F0au0tjd2nsLo3dpbG7NHaXxu7S2F0au0tjd2nsLo3dpbG7NHaXxu7S2F0au0tjd2nsLo3dpbG7NHaXxu7S2F0au0tjd2nsLo3dpbG7NHaXxu7S2F0au0tjd2nsLo3dpbG7NHaXxu7S2F0au0tjd2nsLo3dpbG7NHaXxu7S2F0au0tjd2nsLo3dpbG7NHaXxu7S2F0au0tjd2nsLo3dpbG7NHaXxu7S2F0au0tjd2nsLo3dpbG7NHaXxu7S2F0au0tjd2nsLo3dpbG7NHaXxu7S2F0au0tjd2nsLo3dpbG7NHaXxu7S2F0au0tjd2nsLo3dpbG7NHZXxu7K2F0Zuytjd2XsrozdlbG7MnZXxu7K2F0Zuytjd2XsrozdlbG7MnZXxu7K2F0Zuytjd2XsrozdlbG7MnZXxu7K2F0Zuytjd2XsrozdlbG7MnZXxu7K2F0Zuytjd2XsrozdlbG7MnZXxu7K2F0Zuytjd2XsrozdlbG7MnZXxu7K2F0Zuytjd2XsrozdlbG7MnZXxu7K2F0Zuytjd2XsrozdlbG7MnZXxu7K2F0Zuytjd2XsrozdlbG7MnZXxu7K2F0Zuytjd2XsrozdlbG7MnZXxu7K2F0Zuytjd2XsrozdlbG7MnZXxu7K2F0Zuytjd2XsrozdlbG7MnZXxu7K2F0Zuytjd23sro3dtbG7NnbXxu7a2F0bu2tjd23sro3dtbG7NnbXxu7a2F0bu2tjd23sro3dtbG7NnbXxu7a2F0bu2tjd23sro3dtbG7NnbXxu7a2F0bu2tjd23sro3dtbG7NnbXxu7a2F0bu2tjd23sro3dtbG7NnbXxu7a2F0bu2tjd23sro3dtbG7NnbXxu7a2F0bu2tjd23sro3dtbG7NnbXxu7a2F0bu2tjd23sro3dtbG7NnbXxu7a2F0bu2tjd23sro3dtbG7NnbXxu7a2F0bu2tjd23sro3dtbG7NnbXxu7a2F0bu2tjd23sro3dtbG7NnbXxu7a2F0bu2tjd23sro3dtbG7/h/Y3WsXH7z9zsUfGefer9578Oymd58+vPvkvUcPL8/97Gp/9Mr1Lx4/eHbx8rOLfe3R5eXNt67fev3GF77k1ddv/OL+5f2+//hz52/ev/769T96/PT69z94dvsvP//9bl2/8e71G29ev/n+y28+eXTz7frRxfUPHrz//ddfu7j54Lx78ZP46O36u2tvxd9c3Hj4w3G3fvzg7Tfev5H3v9t3Px3n/jfvf/Srd16Nj17L+PDi5dtP7956OG++/OvH//CTeO+nr77yzbv373/y4J5d3P3N9z7942u3L56+8uaPf3D71u3Lj7d+cPuf37j8+N53f/jKr9988vrlx/Vf3z433rjdl8/BR5880r+9fOIePn3w4NPLn3/uWbzz5De/+OTpffD75/6DR+88ffDJuTt3Prh47+GdO1c//vjnlz+uq+/f+/Di8Z1f3fvw8afP/9X8dsS3P3lZefvi7vv3Hr7z7OSTyx/4ow/fffDoo6sf/xfVDafP";
const VLEN_BENIGN: &str = "eNrtlMFKw0AQhje1h1CsVPCgnsqepaQevRVb7UGwqAdBJK7NtixNdjWbKrXkrm/iG9hH8K10N9mEJCB68CA432WYycw/s2GYl2H/qNnYbSCNbaM6aqEiHwa0XfENN8Zaxj4b+1rL4vXkmylX6ql+ey31VyZ+cTYYFPWrfYD/zXDQG2l7aXzb2PdaOS/bw9Ev9d00+1rd63U0NP2aaEtNEwiP+u5Y8Amb6viOZSWVrXwmuzTfW+ERVkmvlehFIWGc8Wkm+Z2eW9CrwboAAPADjg9PTyxkDkv1PimWeOwTKV1OAooP2vic3s8pjxjx8V4bp8dJxZc4S5A67pMFDaVyr6r1fcol/aLUy77NOYt0dTeOr2Plz2hIpPugJJngOnO/0+12HJ16S8Yzyj0djFS5CCe+eMRxfgPd/B2+kFoTB2kPcRexgD3R0C1MUp6155GgMqpPSZic5ZBEOsfpOI6aMs7/52oDdgoAAAAAAAAAAAD4e3wC2USTMg==";
const DENSE_MANAGED_LAMBDA: &str = "eNrtmU1oE0EUx9+mUWM/MBYVtR7KelEUTdJWW8HqbpLN2qa1aRKt/XCZbDZpzGZT89GklIDgoQhSEMGDF8GTelLwIKJ4sR4FPfQs9KIXD1bPOrubTTfdLYggCM4fZib75vf2DW9mAnm5xQe4jtaDrS0uFxj6WRcc0p89dfv6t3cfLvKBcQd1n3J0mklDrQ6gAPZ2ghNgldK9Zh119yQFRH9fpRXXR26cHwN1Qx3gBsu+dtZ3ZNnYGeemsa6234zoNHnqe3xEHfcbtkvT/Rwb4wN4RTjibvUoHPnkMGIYUQaH2q5xUUyBsT4KmseNeGNQxTGMmU/16F3QPMbX3n5nY2EOxz2nPh9VUwDwbDXSCrMmw2tqPQh91IZhdfZgGNZMxNrUzVFoNxHrD+9F4KWJeHTJV4OnKjGoGz47H9yAJZPLrvfLK7DP5PLm9uFVuGoi0POl73DHREzf7fqRe/WGJof6j8VFo8HGQafwyfqqnZkvTx6vkOQQ/fcK+S+GtRvhbv6upetXZpEWZVQsCgrKSfSZbjoqXS9LSimDZPp4Ny3mlVQmje2LtAEUVbuMFqRCET9ObfYPo1wiibbwleYz2mtTZUUsZfKK+gK6txJkmjWidgG16/fkce+fYPgI24SEIuxcGvsNF012f5qJMFtqkhnOqfPXzfF4hk0xbIzxZwOxUt6f6BlDTE7ODkfCyC8PpNBlbyXRM+SZ8J5ErDLaJ/aMy4lolvWluV5Rf0/6WLoynwx5K2Gft4AC8bLIK6f8gWrxymVvZjIUPCam09ri1E5cuKB/DMdRORgbH4nzcdwmRuLXorhd4EaD1VgpghtTjQ+w0XgvzkFFW+lZnDilLMt6P2PKolBamNPSKzdyn8sny7JmE4QcyiiCQNdqMzU8k5UKqCjM493T80/7Tni9JzyqUwKJWUlJqsaSpBTzhZScr9C15vP0ooPcKSIiIiIiIiIiIiIion9RHB9gG6V6TYeHFidbwAXtalFXqpYKSPCA2wWg/0FwHhwmeBPotYCUPeizgA57sMcCttiDvRbQaQ/2WcBt9uApC7jdHjxtAXfYg/0W0GUPDljAnQ2wA/aoIP4JL8mCXkSBA5RewHE3Mq6V2vUqjqu5skNEtKFf+u9HpA==";

fn inflate(b64: &str) -> Vec<u8> {
    let compressed = crate::encoding::decode_base64(b64.as_bytes(), 1 << 20).expect("base64");
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(&compressed[..]).read_to_end(&mut out).expect("zlib");
    out
}

fn scan_file(data: &[u8]) -> Vec<Finding> {
    let settings = ScanSettings::default();
    let mut ctx = ScanContext::new(&settings, "model.h5");
    scan(&mut ctx, data);
    ctx.finish().0
}

fn worst(findings: &[Finding]) -> Option<Severity> {
    findings.iter().map(|f| f.severity).max()
}

fn summary(findings: &[Finding]) -> &str {
    &findings.iter().find(|f| f.rule_id.as_str() == "hdf5.summary").expect("summary").message
}

fn assert_structural_lambda(findings: &[Finding]) {
    let lambda = findings.iter().find(|f| f.rule_id.as_str() == "keras.lambda-layer").expect("lambda finding");
    assert_eq!(lambda.severity, Severity::Critical, "{findings:?}");
    assert!(lambda.message.contains("os, __import__, system"), "{}", lambda.message);
    assert!(summary(findings).contains("model_config"), "{findings:?}");
    assert!(!findings.iter().any(|f| f.rule_id.as_str() == "hdf5.malformed"), "{findings:?}");
}

#[test]
fn compact_model_config_with_lambda_is_critical() {
    let findings = scan_file(&inflate(COMPACT_LAMBDA));
    assert_structural_lambda(&findings);
    assert!(summary(&findings).starts_with("HDF5 superblock v0; root attributes: model_config, keras_version"));
}

#[test]
fn large_model_config_in_dense_storage_is_read() {
    let findings = scan_file(&inflate(DENSE_HUGE_LAMBDA));
    assert_structural_lambda(&findings);
    assert!(findings.iter().any(|f| f.message.contains("2501 layers")), "{findings:?}");
}

#[test]
fn small_attributes_in_dense_storage_are_read() {
    let findings = scan_file(&inflate(DENSE_MANAGED_LAMBDA));
    assert_structural_lambda(&findings);
    assert!(summary(&findings).starts_with("HDF5 superblock v3") && summary(&findings).contains("extra_9"));
}

#[test]
fn benign_variable_length_configs_are_clean() {
    let findings = scan_file(&inflate(VLEN_BENIGN));
    assert!(worst(&findings) <= Some(Severity::Info), "{findings:?}");
    assert!(summary(&findings).contains("model_config, training_config"));
    assert!(findings.iter().any(|f| f.message.contains("Keras `Sequential` config with 1 layers")));
}

#[test]
fn corrupt_structure_falls_back_to_text_search() {
    let mut data = inflate(COMPACT_LAMBDA);
    // Superblock v0 with 8-byte addresses: the root object header address is at 64.
    data[64..72].copy_from_slice(&u64::MAX.to_le_bytes()[..]);
    data[64] = 0x7f;
    let findings = scan_file(&data);
    assert!(findings.iter().any(|f| f.rule_id.as_str() == "hdf5.malformed" && f.severity == Severity::Low), "{findings:?}");
    assert_eq!(worst(&findings), Some(Severity::Critical));
    let findings = scan_file(&data[..600]);
    assert_eq!(worst(&findings), Some(Severity::Low), "{findings:?}");
}

#[test]
fn config_outside_the_attributes_is_still_found() {
    let mut data = inflate(VLEN_BENIGN);
    data.extend_from_slice(b"\0\0junk{\"config\": {\"layers\": [{\"class_name\": \"Lambda\", \"config\": {\"function\": \"system\", \"module\": \"os\"}}]}, \"class_name\": \"Sequential\"}\0");
    assert_eq!(worst(&scan_file(&data)), Some(Severity::Critical));
}

#[test]
fn object_end_matches_braces_outside_strings() {
    assert_eq!(object_end(r#"{"a": "}", "b": [1, {"c": NaN}]} tail"#), Some(32));
    assert_eq!(object_end(r#"{"a": "\"}"#), None);
    assert_eq!(object_end("{\"a\": [1"), None);
}

proptest! {
    #[test]
    fn random_bytes_after_the_signature_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut data = sniff::HDF5_MAGIC.to_vec();
        data.extend_from_slice(&body);
        let _ = scan_file(&data);
    }

    #[test]
    fn mutated_files_never_panic(flips in proptest::collection::vec((0usize..7168, any::<u8>()), 1..16), which in 0usize..3) {
        let mut data = inflate([COMPACT_LAMBDA, DENSE_MANAGED_LAMBDA, VLEN_BENIGN][which]);
        for (at, byte) in flips {
            let at = at % data.len();
            data[at] = byte;
        }
        let _ = scan_file(&data);
    }
}

