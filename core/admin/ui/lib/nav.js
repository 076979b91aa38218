// Hash navigation: "#/requests?id=abc".
export function hrefTo(path, params) {
  const q = params ? new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '')).toString() : '';
  return `#/${path}${q ? `?${q}` : ''}`;
}

export function navigate(path, params) {
  location.hash = hrefTo(path, params);
}
