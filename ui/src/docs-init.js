// Renders /openapi.json of the server that serves this page (no CDN, no outside request).
window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true });
