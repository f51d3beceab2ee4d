// spectral:oas reports unused schemas, responses, parameters and the like, but security schemes
// are named, not `$ref`ed, so it never looks at them: report each scheme no security
// requirement (global or per operation) names.
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'];

const namesIn = (security, used) => {
  for (const requirement of Array.isArray(security) ? security : []) {
    for (const name of Object.keys(requirement || {})) used.add(name);
  }
};

export default (document) => {
  const schemes = (document && document.components && document.components.securitySchemes) || {};
  const used = new Set();
  namesIn(document.security, used);
  for (const item of Object.values(document.paths || {})) {
    for (const method of METHODS) {
      if (item && item[method]) namesIn(item[method].security, used);
    }
  }
  return Object.keys(schemes)
    .filter((name) => !used.has(name))
    .map((name) => ({
      message: `security scheme ${name} is named by no security requirement`,
      path: ['components', 'securitySchemes', name],
    }));
};
