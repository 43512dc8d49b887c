// The API reference: Swagger UI on /api/openapi.json (same origin; "Try it out" uses the page's auth).
window.SwaggerUIBundle({ url: '/api/openapi.json', dom_id: '#reference', deepLinking: true, tryItOutEnabled: false });
