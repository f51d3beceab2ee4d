// Every operation must be protected: its own `security` if it declares one, else the document's
// global `security`, must list at least one requirement and none of them may be empty (`{}` and
// `security: []` both mean "no authentication").
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'];

const isProtecting = (security) =>
  Array.isArray(security) &&
  security.length > 0 &&
  security.every((requirement) =>
    requirement !== null && typeof requirement === 'object' && Object.keys(requirement).length > 0);

export default (document) => {
  const results = [];
  const paths = (document && document.paths) || {};
  for (const [path, item] of Object.entries(paths)) {
    for (const method of METHODS) {
      const operation = item && item[method];
      if (!operation || typeof operation !== 'object') continue;
      const own = Object.prototype.hasOwnProperty.call(operation, 'security');
      const security = own ? operation.security : document.security;
      if (!isProtecting(security)) {
        results.push({
          message: own
            ? `${method.toUpperCase()} ${path} declares a security that lets anyone in`
            : `${method.toUpperCase()} ${path} has no security of its own and the document has no global security`,
          path: own ? ['paths', path, method, 'security'] : ['paths', path, method],
        });
      }
    }
  }
  return results;
};
